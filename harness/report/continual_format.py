"""The continual-learning report: per sequence the session × task matrix, the metrics with 95% intervals, and
per method the mean ± sd over orders and seeds; as Markdown, LaTeX, HTML (a complete page, or with "html-fragment"
the tables alone, to embed) or long-format CSV (fractions, full precision: what a script reads back). Definitions
and citations: `harness.report.continual_metrics`."""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass

import numpy as np

from harness.errors import UnknownName
from harness.report.continual import Column, Sequence, build_sequences, row_names
from harness.report.continual_metrics import METRICS, Estimate, sequence_metrics
from harness.report.html_page import page
from harness.report.runs import Run

FORMATS = ("md", "csv", "latex", "html", "html-fragment")
CHANGES = ("BWT", "FWT", "F", "TI", "CC")  # differences, printed with a sign; the others are levels
CSV_HEADER = ["section", "vlm", "method", "order", "seed", "row", "column", "metric", "value", "ci95_low", "ci95_high"]
DEFINITIONS = (
    "R[i][j]: metric on session j's test column after session i (row 0: zero-shot). ACC = mean_j R[T][j]; "
    "BWT = mean_{j<T} (R[T][j] − R[j][j]); FWT = mean_{j≥2} (R[j−1][j] − R[0][j]) (Lopez-Paz & Ranzato 2017); "
    "F = mean_{j<T} (max_{1≤l<T} R[l][j] − R[T][j]) (Chaudhry et al. 2018); MFT = mean_j R[j][j], MFN = ACC, "
    "MAA = mean_k mean_{j≤k} R[k][j] (MCITlib, Guo et al. 2025); TI: target after − zero-shot, CC: mean control "
    "change over the controls in % (LoRSU, Panos et al. 2025; controls in official points, as MME's, are left out). "
    "In percentage points; [low, high]: 95% paired bootstrap over items."
)


@dataclass
class SequenceReport:
    seq: Sequence
    metrics: dict[str, Estimate]
    matrix: np.ndarray | None  # [T+1, T] session columns


def continual_reports(
    runs: list[Run],
    target: str | None = None,
    controls: list[str] | None = None,
    n_boot: int = 1_000,
    seed: int = 0,
    force: bool = False,
) -> list[SequenceReport]:
    """One report per sequence; refuses runs that did not see the same items unless `force` (`build_sequences`)."""
    out = []
    for seq in build_sequences(runs, target, controls, force):
        metrics, matrix = sequence_metrics(seq, n_boot, seed)
        out.append(SequenceReport(seq, metrics, matrix))
    return out


def method_summary(reports: list[SequenceReport]) -> list[tuple[str, str, int, dict[str, tuple[float, float]]]]:
    """(vlm, method, sequences, {metric: (mean, sample sd)}) over each method's orders and seeds."""
    groups: dict[tuple[str, str], list[SequenceReport]] = {}
    for r in reports:
        groups.setdefault((r.seq.vlm, r.seq.method), []).append(r)
    out = []
    for (vlm, method), rs in groups.items():
        stats = {}
        for k in METRICS:
            vals = [r.metrics[k].value for r in rs if r.metrics[k].value is not None]
            if vals:
                sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan
                stats[k] = (float(np.mean(vals)), sd)
        out.append((vlm, method, len(rs), stats))
    return out


def columns(seq: Sequence) -> list[Column]:
    """The matrix's columns: the per-session test columns, then every task whole (a session column that is a whole
    task appears once)."""
    return seq.sessions + [c for c in seq.tasks if not any(c is s for s in seq.sessions)]


def render(reports: list[SequenceReport], fmt: str) -> str:
    if fmt == "csv":
        return render_csv(reports)
    if fmt not in FORMATS:
        raise UnknownName(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    blocks = []
    for r in reports:
        cols = columns(r.seq)
        values = np.stack([c.values() for c in cols], axis=1)  # [rows, columns]
        head = ["checkpoint", *(f"{c.name} ({c.metric})" for c in cols)]
        body = [[name, *(_pct(v) for v in row)] for name, row in zip(row_names(r.seq), values)]
        blocks.append((f"{r.seq.vlm} — {r.seq.label}: session × task", head, body, r.seq.notes))
    head = ["VLM", "method", "order", "seed", *METRICS]
    body = [[r.seq.vlm, r.seq.method, r.seq.order, r.seq.seed, *(_est(r.metrics[k], k) for k in METRICS)]
            for r in reports]  # fmt: skip
    differ = [f"compared anyway (--force): {d}" for d in dict.fromkeys(d for r in reports for d in r.seq.differences)]
    blocks.append(("Continual-learning metrics (points)", head, body, [DEFINITIONS, *differ]))
    summary = method_summary(reports)
    if any(n > 1 for *_, n, _ in summary):
        head = ["VLM", "method", "sequences", *METRICS]
        body = [[v, m, str(n), *(_mean_sd(s.get(k), k) for k in METRICS)] for v, m, n, s in summary]
        blocks.append(("Per method: mean ± sd over orders and seeds (points)", head, body, []))
    if fmt == "html":
        return page("harness cl: continual learning", f"<h1>Continual learning</h1>\n{_html(blocks)}")
    return {"md": _markdown, "latex": _latex, "html-fragment": _html}[fmt](blocks)


def render_csv(reports: list[SequenceReport]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for r in reports:
        key = [r.seq.vlm, r.seq.method, r.seq.order, r.seq.seed]
        for c in columns(r.seq):
            for name, v in zip(row_names(r.seq), c.values()):
                w.writerow(["matrix", *key, name, c.name, c.metric, _num(v), "", ""])
        for k in METRICS:
            e = r.metrics[k]
            w.writerow(["metric", *key, "", "", k, _num(e.value), _num(e.low), _num(e.high)])
    return buf.getvalue()


def _num(v: float | None) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v))


def _pct(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{100 * v:.1f}"


def _est(e: Estimate, metric: str) -> str:
    if e.value is None:
        return "–"
    f = "+.1f" if metric in CHANGES else ".1f"
    ci = f" [{100 * e.low:{f}}, {100 * e.high:{f}}]" if e.low is not None else ""
    return f"{100 * e.value:{f}}{ci}"


def _mean_sd(v: tuple[float, float] | None, metric: str) -> str:
    if v is None:
        return "–"
    f = "+.1f" if metric in CHANGES else ".1f"
    return f"{100 * v[0]:{f}}" + ("" if math.isnan(v[1]) else f" ± {100 * v[1]:.1f}")


def _markdown(blocks) -> str:
    out = []
    for title, head, body, notes in blocks:
        out.append(f"**{title}**\n\n| " + " | ".join(head) + " |\n|" + "|".join([":--"] + ["--:"] * (len(head) - 1)))
        out[-1] += "|\n" + "".join("| " + " | ".join(row) + " |\n" for row in body)
        out[-1] += "".join(f"\n{n}\n" for n in notes)
    return "\n".join(out)


def _latex(blocks) -> str:
    def esc(t: str) -> str:
        for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
            t = t.replace(a, b)
        return t.replace("±", r"$\pm$").replace("·", r"$\cdot$").replace("—", "--").replace("–", "--")

    out = []
    for title, head, body, _ in blocks:
        rows = "".join(" & ".join(esc(c) for c in row) + r" \\" + "\n" for row in body)
        out.append(
            f"% {esc(title)}\n\\begin{{tabular}}{{l{'r' * (len(head) - 1)}}}\n\\toprule\n"
            + " & ".join(esc(h) for h in head)
            + " \\\\\n\\midrule\n"
            + rows
            + "\\bottomrule\n\\end{tabular}\n"
        )
    return "\n".join(out)


def _html(blocks) -> str:
    out = []
    for title, head, body, notes in blocks:
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
        out.append(
            f'<h3>{html.escape(title)}</h3><table class="m"><tr>'
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + f"</tr>{rows}</table>"
            + "".join(f'<p class="mut small">{html.escape(n)}</p>' for n in notes)
        )
    return "\n".join(out)

"""Render `harness.report.tables.Table`s as Markdown (GitHub), LaTeX (booktabs), HTML (a complete page, or with
"html-fragment" the tables alone, to embed), or long-format CSV.

Markdown/LaTeX/HTML show the grid: cells in % with one decimal, "–" for a missing cell, bold for the best
per VLM group, "(baseline)" after the baseline's name, `[low, high]` for the 95% interval (Wilson for
proportions, percentile bootstrap otherwise; the caption says which were used), `(+d)` for Δ in
percentage points and † for a significant difference vs the baseline (p < 0.05).
LaTeX needs only `\\usepackage{booktabs}`; `standalone=True` wraps it in a compilable article.
CSV has one row per (run, task, metric) over every recorded metric, values as fractions (not %):
table, vlm, label, run_id, run_dir, is_baseline, task, metric, value, stderr, ci95_low, ci95_high,
ci95_method, delta_vs_baseline, n, n_errors, task_version, item_set_sha256 (the interval as in the tables).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable

from harness.errors import UnknownName
from harness.report.html_page import page
from harness.report.intervals import BOOTSTRAP, WILSON, metric_interval
from harness.report.runs import DIGITS, display_scale
from harness.report.tables import Cell, Table

MISSING = "–"
DAGGER = "†"
FORMATS = ("md", "latex", "csv", "html", "html-fragment")


def render(tables: list[Table], fmt: str, standalone: bool = False) -> str:
    if fmt == "md":
        return "\n\n".join(render_markdown(t) for t in tables) + "\n"
    if fmt == "latex":
        body = "\n\n".join(render_latex(t) for t in tables)
        return _latex_document(body) if standalone else body + "\n"
    if fmt in ("html", "html-fragment"):
        body = "\n".join(render_html(t) for t in tables) + "\n"
        return page(f"harness table: {', '.join(t.title for t in tables)}", body) if fmt == "html" else body
    if fmt == "csv":
        return render_csv(tables)
    raise UnknownName(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")


def caption(table: Table) -> str:
    points = [c.title for c in table.columns if display_scale(c.metric) == 1]
    unit = "primary metric in %" + (f" ({', '.join(points)} in official points)" if points else "")
    parts = [f"{table.title}: {unit}", "best per VLM in bold"]
    if table.ci:
        used = {c.ci_method for g in table.groups for r in g.rows for c in r.cells if c.ci_method}
        how = [
            m
            for m, on in (
                ("Wilson score for proportions", WILSON in used),
                (f"percentile bootstrap ({table.n_boot} resamples) for VQA accuracy and AUROC", BOOTSTRAP in used),
            )
            if on
        ]
        parts.append("[low, high] 95% interval" + (f" ({'; '.join(how)})" if how else ""))
    if table.delta:
        parts.append("(Δ) in points vs the baseline")
    if table.significance:
        parts.append(f"{DAGGER} p < 0.05 vs the baseline (paired)")
    parts.append(f"{MISSING} not evaluated")
    return "; ".join(parts) + "."


def _cell_text(c: Cell, dagger: str, bold: Callable[[str], str], small: Callable[[str], str]) -> str:
    if c.value is None:
        return ""
    text = bold(f"{c.value:.{DIGITS}f}") if c.bold else f"{c.value:.{DIGITS}f}"
    if c.ci_low is not None and c.ci_high is not None:
        text += small(f"[{c.ci_low:.{DIGITS}f}, {c.ci_high:.{DIGITS}f}]")
    if c.delta is not None:
        text += small(f"({c.delta:+.{DIGITS}f})")
    if c.significant:
        text += dagger
    return text


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def render_markdown(table: Table) -> str:
    extra = table.label_columns
    head = ["VLM", "Method", *map(_md_escape, extra)] + [_md_escape(c.title) for c in table.columns]
    lines = [
        f"**{table.title}**",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":--", ":--"] + [":--"] * len(extra) + ["--:"] * len(table.columns)) + "|",
    ]
    for g in table.groups:
        for i, row in enumerate(g.rows):
            name = _md_escape(row.label) + (" (baseline)" if row.is_baseline else "")
            cells = [_cell_text(c, DAGGER, lambda s: f"**{s}**", lambda s: " " + s) or MISSING for c in row.cells]
            labels = [_md_escape(row.extra.get(k, "")) for k in extra]
            lines.append("| " + " | ".join([_md_escape(g.vlm) if i == 0 else "", name, *labels] + cells) + " |")
    lines += ["", caption(table)] + [f"Note: {n}" for n in table.notes]
    return "\n".join(lines)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "·": r"$\cdot$",
    "–": "--",
    "—": "---",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "†": r"$^\dagger$",
    "…": r"\ldots{}",
    "<": r"$<$",
    ">": r"$>$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def render_latex(table: Table) -> str:
    n = len(table.columns)
    head = ["VLM", "Method"] + [latex_escape(c.title) for c in table.columns]
    lines = [
        "% generated by `harness table`; needs \\usepackage{booktabs}",
        r"\begin{table}[t]",
        r"  \centering",
        f"  \\caption{{{latex_escape(caption(table))}}}",
        f"  \\begin{{tabular}}{{ll{'r' * n}}}",
        r"    \toprule",
        "    " + " & ".join(head) + r" \\",
        r"    \midrule",
    ]
    for gi, g in enumerate(table.groups):
        if gi:
            lines.append(r"    \midrule")
        for i, row in enumerate(g.rows):
            name = latex_escape(row.label) + (r" \textit{(baseline)}" if row.is_baseline else "")
            cells = [
                _cell_text(c, r"$^\dagger$", lambda s: f"\\textbf{{{s}}}", lambda s: f" {{\\scriptsize {s}}}") or "--"
                for c in row.cells
            ]
            lines.append("    " + " & ".join([latex_escape(g.vlm) if i == 0 else "", name] + cells) + r" \\")
    lines += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}"]
    lines += [f"% note: {n}" for n in table.notes]
    return "\n".join(lines)


def _latex_document(body: str) -> str:
    return "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + body + "\n\\end{document}\n"


def render_html(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in ["VLM", "Method"] + [c.title for c in table.columns])
    out = [
        '<table class="harness-table m">',
        f"  <caption>{esc(caption(table))}</caption>",
        f"  <thead><tr>{head}</tr></thead>",
    ]
    for g in table.groups:
        out.append("  <tbody>")
        for i, row in enumerate(g.rows):
            name = esc(row.label) + (" <i>(baseline)</i>" if row.is_baseline else "")
            cells = [
                _cell_text(c, DAGGER, lambda s: f"<b>{s}</b>", lambda s: f" <small>{s}</small>") or MISSING
                for c in row.cells
            ]
            tds = "".join(f"<td>{c}</td>" for c in [esc(g.vlm) if i == 0 else "", name] + cells)
            out.append(f"    <tr>{tds}</tr>")
        out.append("  </tbody>")
    out.append("</table>")
    out += [f"<p>Note: {esc(n)}</p>" for n in table.notes]
    return "\n".join(out)


CSV_FIELDS = (
    "table",
    "vlm",
    "label",
    "run_id",
    "run_dir",
    "is_baseline",
    "task",
    "metric",
    "value",
    "stderr",
    "ci95_low",
    "ci95_high",
    "ci95_method",
    "delta_vs_baseline",
    "n",
    "n_errors",
    "task_version",
    "item_set_sha256",
)


def render_csv(tables: list[Table]) -> str:
    buf = io.StringIO()
    extra = list(dict.fromkeys(k for t in tables for k in t.label_columns if k not in CSV_FIELDS))
    w = csv.DictWriter(buf, fieldnames=[*CSV_FIELDS[:3], *extra, *CSV_FIELDS[3:]], lineterminator="\n")
    w.writeheader()
    for t in tables:
        for g in t.groups:
            for row in g.rows:
                run = row.run
                for task, rec in run.tasks.items():
                    for metric in rec.get("metrics", {}):
                        v, se = run.metric(task, metric), run.stderr(task, metric)
                        iv = metric_interval(run, task, metric, n_boot=t.n_boot, seed=t.seed)
                        bv = g.baseline.metric(task, metric) if g.baseline is not None else None
                        w.writerow(
                            {
                                "table": t.title,
                                "vlm": g.vlm,
                                "label": row.label,
                                **{k: row.extra.get(k, "") for k in extra},
                                "run_id": run.run_id,
                                "run_dir": str(run.path),
                                "is_baseline": row.is_baseline,
                                "task": task,
                                "metric": metric,
                                "value": v,
                                "stderr": se,
                                "ci95_low": iv.low if iv else None,
                                "ci95_high": iv.high if iv else None,
                                "ci95_method": iv.method if iv else None,
                                "delta_vs_baseline": v - bv if v is not None and bv is not None else None,
                                "n": rec.get("n"),
                                "n_errors": rec.get("n_errors"),
                                "task_version": rec.get("version"),
                                "item_set_sha256": rec.get("item_set_sha256"),
                            }
                        )
    return buf.getvalue()

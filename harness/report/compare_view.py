"""How `harness compare` shows its rows: a terminal table and a JSON list."""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.table import Table as RichTable

from harness.report.paired import MetricComparison
from harness.report.runs import Run


def pct(v: float | None, signed: bool = False) -> str:
    if v is None or math.isnan(v):
        return "–"
    return f"{100 * v:+.1f}" if signed else f"{100 * v:.1f}"


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def compare_table(a: Run, b: Run, rows: list[MetricComparison]) -> RichTable:
    t = RichTable(
        title=f"A = {a.label} ({a.vlm}),  B = {b.label} ({b.vlm})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        show_edge=False,
    )
    for col in ("task", "metric", "n", "A", "B", "Δ", "95% CI", "p", "A✓B✗", "A✗B✓"):
        t.add_column(col, justify="left" if col in ("task", "metric") else "right", no_wrap=True)
    for r in rows:
        ci = f"{pct(r.diff.low, True)}…{pct(r.diff.high, True)}" if r.diff else "–"
        d = r.b - r.a if r.a is not None and r.b is not None else None
        m = r.mcnemar
        t.add_row(
            r.task,
            r.metric,
            str(r.n_paired),
            pct(r.a),
            pct(r.b),
            pct(d, True),
            ci,
            _p(m.p_value) if m else "–",
            str(m.a_only) if m else "–",
            str(m.b_only) if m else "–",
        )
    return t


def comparison_dict(r: MetricComparison) -> dict[str, Any]:
    return {
        "task": r.task,
        "metric": r.metric,
        "a": r.a,
        "b": r.b,
        "n_paired": r.n_paired,
        "diff": r.diff.estimate if r.diff else None,
        "ci95": [r.diff.low, r.diff.high] if r.diff else None,
        "mcnemar_p": r.mcnemar.p_value if r.mcnemar else None,
        "a_only": r.mcnemar.a_only if r.mcnemar else None,
        "b_only": r.mcnemar.b_only if r.mcnemar else None,
        "significant": r.significant,
        "note": r.note,
    }

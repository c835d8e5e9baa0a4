"""Terminal summary tables of run results."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.report.runs import display_scale

WIDE_LIMIT = 5  # more distinct metrics than this: one cell per (run, task) listing its own metrics


def _fmt(metric: dict[str, Any] | None, name: str) -> str:
    if not metric:
        return "–"
    v, se, k = metric.get("value"), metric.get("stderr"), display_scale(name)
    if v is None or math.isnan(v):  # NaN in memory, null in results.json (harness.jsonio)
        return "undefined"  # e.g. POPE's precision when nothing was answered "yes"
    return f"{k * v:.1f}" + (f" ± {k * se:.1f}" if se is not None and not math.isnan(se) else "")


def print_summary(console: Console, runs: list[dict[str, Any]], title: str = "Results") -> None:
    """One row per (run, task): n, errors, every metric in % (or in its official points), plus throughput.
    A column per metric while the tasks share few; else each row lists its task's own metrics."""
    names = sorted({m for r in runs for t in r["tasks"].values() for m in t["metrics"]})
    wide = len(names) <= WIDE_LIMIT
    table = Table(title=title)
    for col in ("run", "task", "n", "errors", *(names if wide else ["metrics"])):
        table.add_column(col, justify="left" if col in ("run", "task", "metrics") else "right")
    for r in runs:
        for task, t in r["tasks"].items():
            if wide:
                cells = [_fmt(t["metrics"].get(m), m) for m in names]
            else:
                cells = ["\n".join(f"{m} {_fmt(v, m)}" for m, v in t["metrics"].items())]
            table.add_row(r["label"], task, str(t["n"]), str(t["n_errors"]), *cells)
    console.print(table)
    for r in runs:
        tm = r["timing"]
        if r.get("skipped"):
            console.print(f"[dim]{r['label']}: already finished, nothing scored → {r.get('run_dir', '')}[/]")
            continue
        console.print(
            f"[dim]{r['label']}: {tm['items_scored_this_invocation']} items scored in "
            f"{tm['wall_seconds']:.1f} s ({tm['items_per_second']} items/s) → {r.get('run_dir', '')}[/]"
        )

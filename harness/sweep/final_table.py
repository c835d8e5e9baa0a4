"""The paper's table from a sweep's continual-learning reports: per VLM, the zero-shot model and each method after
its last session on every task (the target first, then the controls), with TI and CC as LoRSU defines them
(`harness.report.continual_metrics`: TI = target after − zero-shot, CC = the mean over the controls in % of after −
zero-shot). Records only; never loads a model."""

from __future__ import annotations

import math

from harness.report.continual import Column
from harness.report.continual_format import SequenceReport


def final_table(reports: list[SequenceReport]) -> str:
    """Markdown, one block per VLM: rows zero-shot and every sequence (method, order, seed) after its last
    session; columns the tasks' primary metrics, then TI and CC (percentage points)."""
    blocks = []
    for vlm in dict.fromkeys(r.seq.vlm for r in reports):
        mine = [r for r in reports if r.seq.vlm == vlm]
        first = mine[0].seq
        cols = _ordered(first.tasks, first.target, first.controls)
        head = ["method", "sessions", *(f"{c.name} ({c.metric})" for c in cols), "TI", "CC"]
        zero = ["zero-shot", "0", *(_pct(c.values()[0]) for c in cols), "", ""]
        body = [zero]
        for r in mine:
            by_task = {c.task: c for c in r.seq.tasks}
            finals = [_pct(by_task[c.task].values()[-1]) if c.task in by_task else "–" for c in cols]
            change = [_change(r.metrics[k].value) for k in ("TI", "CC")]
            body.append([r.seq.label, str(len(r.seq.runs) - 1), *finals, *change])
        controls = ", ".join(first.controls)
        title = (
            f"**{vlm}: each method after its last session (%)** — target {first.target or '–'}; "
            f"TI = target after − zero-shot, CC = mean over the controls ({controls}) of after − zero-shot"
        )
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] + ["--:"] * (len(head) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        blocks.append(title + "\n\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def _ordered(tasks: list[Column], target: str | None, controls: list[str]) -> list[Column]:
    """The target's column, the controls' in the order given, then any other task's."""
    rank = {t: i for i, t in enumerate([target, *controls]) if t}
    return sorted(tasks, key=lambda c: rank.get(c.task, len(rank)))


def _pct(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{100 * v:.1f}"


def _change(v: float | None) -> str:
    return "–" if v is None or math.isnan(v) else f"{100 * v:+.1f}"

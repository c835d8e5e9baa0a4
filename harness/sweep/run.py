"""Run a sweep: check the file, plan every pending cell (data, encoders, run directories) before the first
model loads, then one load per VLM for its pending cells, skipping finished ones; then the tables."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from harness.eval.plan import Plan, plan_eval
from harness.eval.records import RunDir
from harness.eval.run import take
from harness.eval.runner import run_planned_cells
from harness.sweep.grid import Cell, cells, in_shard
from harness.sweep.report import SweepReport, write_report
from harness.sweep.spec import SweepSpec, read_spec


def select(spec: SweepSpec, shard: tuple[int, int] | None) -> list[Cell]:
    grid = cells(spec)
    return [c for c in grid if shard is None or in_shard(c, shard)]


def run_sweep(
    path: str | Path,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    log: Callable[[str], Any] = print,
) -> SweepReport:
    """Run (or resume) the sweep's cells (this shard's, with `shard`); returns what the report wrote."""
    spec = read_spec(path)
    progress = progress and not spec.eval.get("quiet", False)
    main = int(os.environ.get("RANK", "0")) == 0  # under torchrun only rank 0 reports
    mine = select(spec, shard)
    pending = [c for c in mine if not c.finished()]
    plans = {c.name: plan_eval(c.cfg) for c in pending}  # every cell checked before the first load
    total, initial = _count_items(mine, plans)
    if main:
        log(f"sweep {spec.path}: {len(mine)} cells, {len(mine) - len(pending)} finished, {len(pending)} to run")
    bar = tqdm(total=total, initial=initial, desc="sweep", unit="item", disable=not (progress and main), position=0)
    done_cells = len(mine) - len(pending)
    bar.set_postfix_str(f"cells {done_cells}/{len(mine)}")
    for vlm in spec.vlms:
        group = [c for c in pending if c.vlm is vlm]
        if not group:
            continue
        for _ in run_planned_cells([c.cfg for c in group], [plans[c.name] for c in group], progress, bar.update):
            done_cells += 1
        bar.set_postfix_str(f"cells {done_cells}/{len(mine)}")
    bar.close()
    if not main:
        return SweepReport()
    return write_report(spec, select(spec, None))


def _count_items(grid: list[Cell], plans: dict[str, Plan]) -> tuple[int, int]:
    """Items in all cells and items already recorded, for the overall bar's ETA."""
    total = initial = 0
    for c in grid:
        plan = plans.get(c.name)
        if plan is None:  # finished: every item counts as done
            n = _finished_items(c)
            total, initial = total + n, initial + n
            continue
        done = RunDir(c.out).done() if c.out.exists() else {}
        for key, task in plan.tasks.items():
            ids = [it.id for it in take(task.items(), c.cfg.limit)]
            total += len(ids)
            initial += sum(1 for i in ids if (key, i) in done and done[(key, i)]["error"] is None)
    return total, initial


def _finished_items(cell: Cell) -> int:
    import json

    results = json.loads((cell.out / "results.json").read_text())
    return sum(t["n"] + t["n_errors"] for t in results.get("tasks", {}).values())


def sweep_status(path: str | Path, shard: tuple[int, int] | None = None) -> SweepReport:
    """`--report`: tables from the finished cells, and the list of the others; loads no model."""
    spec = read_spec(path)
    grid = select(spec, shard)
    return write_report(spec, grid)

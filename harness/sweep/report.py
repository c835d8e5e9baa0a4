"""The sweep's tables (OUT/tables.md, OUT/tables.csv) and trade-off plot (OUT/tradeoff.png) from whatever
cells have finished. Never loads a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InvalidInput
from harness.report.runs import Run, load_run
from harness.report.table_format import render, render_csv
from harness.report.tables import build_tables
from harness.sweep.grid import Cell
from harness.sweep.spec import SweepSpec


@dataclass
class SweepReport:
    written: list[Path] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # what `harness sweep` prints at the end (Markdown blocks)


def cell_run(cell: Cell) -> Run:
    """The cell's run, grouped in tables under the spec's VLM label (two models of one family are two VLMs), with
    the spec's [[encoder]] keys as its metadata (as the file says now, even if the cell was scored before). A VLM
    with a `base` is an adapter of that VLM: its cells join the base's group, each row named by the adapter (and
    the encoder, when one is swapped in too), so a PEFT method's sessions sit beside the base's zero-shot row."""
    run = load_run(cell.out)
    config = {**run.results.get("config", {}), "vlm": cell.vlm.base or cell.vlm.label}
    meta = {**(run.results.get("encoder_meta") or {}), **cell.encoder.meta}
    run.results = {**run.results, "config": config, "encoder_meta": meta}
    if cell.vlm.base:
        tag = cell.vlm.tag
        run.results["label"] = tag if cell.encoder.path is None else f"{tag}+{cell.encoder.label}"
    return run


def write_report(spec: SweepSpec, grid: list[Cell]) -> SweepReport:
    report = SweepReport()
    done = [c for c in grid if c.finished()]
    report.unfinished = [c.name for c in grid if c not in done]
    if not done:
        report.notes.append("no cell has finished yet: no tables")
        return report
    runs = [cell_run(c) for c in done]
    tables = build_tables(runs, delta=True, force=True)
    columns = spec.meta_columns
    for t in tables:
        t.label_columns = columns
        for g in t.groups:
            for row in g.rows:
                cell = done[runs.index(row.run)]
                meta = {**cell.vlm.meta, **cell.encoder.meta}
                row.extra = {k: meta.get(k, "") for k in columns}
        report.notes += t.notes
    spec.out.mkdir(parents=True, exist_ok=True)
    (spec.out / "tables.md").write_text(render(tables, "md") + "\n")
    (spec.out / "tables.csv").write_text(render_csv(tables))
    report.written += [spec.out / "tables.md", spec.out / "tables.csv"]
    report.notes += _plot(spec, runs, report)
    report.notes += _continual(spec, runs, report)
    return report


def _continual(spec: SweepSpec, runs: list[Run], report: SweepReport) -> list[str]:
    """OUT/continual.md, .csv, continual.png and final.md (the paper's table: `final_table`) when cells carry
    sessions (tune exports or a `session` key); the final table and the session matrices are also printed."""
    from harness.report.continual import session_of
    from harness.report.continual_format import continual_reports, render
    from harness.report.continual_plot import draw_sessions
    from harness.sweep.final_table import final_table

    if not any(session_of(r) is not None and not r.is_zero_shot for r in runs):
        return []
    try:
        reports = continual_reports(runs, spec.plot_target, spec.plot_controls or None)
    except InvalidInput as e:
        return [f"no continual-learning report: {e}"]
    report.text = [final_table(reports), render(reports, "md")]
    (spec.out / "final.md").write_text(report.text[0])
    for fmt in ("md", "csv"):
        (spec.out / f"continual.{fmt}").write_text(render(reports, fmt))
        report.written.append(spec.out / f"continual.{fmt}")
    report.written += [spec.out / "final.md", *draw_sessions(reports, spec.out / "continual.png")]
    return [f"{r.seq.vlm} {r.seq.label}: {n}" for r in reports for n in r.seq.notes]


def _plot(spec: SweepSpec, runs: list[Run], report: SweepReport) -> list[str]:
    from harness.report.plot import draw_tradeoff, tradeoff_points

    tasks = list(dict.fromkeys(t for r in runs for t in r.tasks))
    target = spec.plot_target or (tasks[-1] if len(tasks) >= 2 else None)
    controls = spec.plot_controls or [t for t in tasks if t != target and _in_percent(t, runs)]
    if target is None or not controls:
        return ["no trade-off plot: it needs a target task and at least one control task ([plot] target/controls)"]
    try:
        points, tgt, ctl, notes = tradeoff_points(runs, target, controls)
    except ValueError as e:
        return [f"no trade-off plot: {e}"]
    if not points:
        return ["no trade-off plot: no run has a baseline (a zero-shot cell) to compare with", *notes]
    report.written += draw_tradeoff(points, tgt, ctl, spec.out / "tradeoff.png")
    chosen = "" if spec.plot_target else " (set [plot] target/controls to choose)"
    return [f"trade-off plot: target {target}, controls {', '.join(controls)}{chosen}", *notes]


def _in_percent(task: str, runs: list[Run]) -> bool:
    """Whether the task's plotted metric is in % (the default controls leave MME's official points out: a mean
    with them would mean nothing)."""
    from harness.report.plot import resolve_axis
    from harness.report.runs import display_scale

    try:
        return display_scale(resolve_axis(task, runs).metric) != 1
    except ValueError:
        return False

"""Comparison tables from run records: one row per run, grouped by VLM, one column per (task, primary metric).

Columns follow the paper's order VSR, VizWiz, HM, DA·E, TSI, GTS, then any other task alphabetically.
Primary metrics: `vqa_acc` for VizWiz, `auroc` and `acc` for HM, `acc` for the rest; CLIP-classification
records (config.vlm == "clip") get their own table with top-1/top-5. Cells are in %; a missing cell is
None (rendered "–", never 0). Best per column is marked within each VLM group (ties at display precision
all marked). The baseline of a group is the run named by `baseline` (label or run directory), else the
group's zero-shot run (no encoder swap). `--ci` adds the 95% interval `[low, high]` (harness.report.intervals:
Wilson for proportions, percentile bootstrap for VQA accuracy and AUROC); Δ is in percentage points vs the
group's baseline.

Runs are compared only when they saw the same items: `require_comparable` refuses (unless forced) when a
shared task's version (data + prompt version), split, limit, prompt style, scoring mode (likelihood or
generate) or item set differ. Within a VLM the recorded `item_set_sha256` and the prompt texts (which list
the options) must match; across VLMs, whose prompts differ, the (id, choices, answer) of samples.jsonl
must. Task keys are `name[:split]` (e.g. `hm:dev_seen`); the split is shown in the column title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InvalidInput
from harness.report.comparable import require_comparable, unique_names
from harness.report.runs import (
    DIGITS,
    Run,
    display_scale,
    expand_run_dirs,
    load_run,
    metric_title,
    primary_metrics,
    task_sort_key,
    task_title,
)


@dataclass
class Column:
    task: str
    metric: str
    title: str


@dataclass
class Cell:
    value: float | None = None  # percent
    ci_low: float | None = None  # 95% interval, percent
    ci_high: float | None = None
    ci_method: str | None = None  # intervals.WILSON | intervals.BOOTSTRAP
    delta: float | None = None  # percentage points vs the baseline
    bold: bool = False
    significant: bool | None = None  # vs the baseline, when --significance
    p_value: float | None = None


@dataclass
class Row:
    run: Run
    label: str
    is_baseline: bool
    cells: list[Cell]
    extra: dict[str, str] = field(default_factory=dict)  # values of the table's label_columns


@dataclass
class Group:
    vlm: str
    rows: list[Row]
    baseline: Run | None


@dataclass
class Table:
    title: str
    columns: list[Column]
    groups: list[Group]
    ci: bool = False
    delta: bool = False
    significance: bool = False
    notes: list[str] = field(default_factory=list)
    n_boot: int = 2_000  # bootstrap intervals (CSV computes one for every recorded metric)
    seed: int = 0
    label_columns: list[str] = field(default_factory=list)  # extra text columns after the run label


def find_run(runs: list[Run], ref: str) -> list[Run]:
    """Runs whose directory is `ref` or whose label is `ref`."""
    p = Path(ref)
    by_path = [r for r in runs if p.exists() and r.path.resolve() == p.resolve()]
    return by_path or [r for r in runs if r.label == ref]


def group_baseline(group: list[Run], baseline: str | None) -> Run | None:
    if baseline is not None:
        hits = find_run(group, baseline)
    else:
        hits = [r for r in group if r.is_zero_shot]
        hits = [r for r in hits if r.label == "zero-shot"] or hits
    return hits[0] if hits else None


def build_tables(
    runs: list[Run],
    baseline: str | None = None,
    ci: bool = False,
    delta: bool = False,
    significance: bool = False,
    force: bool = False,
    n_boot: int = 2_000,
    seed: int = 0,
) -> list[Table]:
    """The VQA table (non-CLIP runs) and, when such records exist, the CLIP-classification table."""
    if not runs:
        raise InvalidInput("no runs given")
    if baseline is not None and not find_run(runs, baseline):
        raise InvalidInput(
            f"--baseline {baseline!r} is neither a given run directory nor a run label "
            f"(labels: {', '.join(sorted({r.label for r in runs}))})"
        )
    tables = []
    for title, part in (
        ("VQA", [r for r in runs if not r.is_clip]),
        ("CLIP classification", [r for r in runs if r.is_clip]),
    ):
        if part:
            notes = require_comparable(part, force)
            tables.append(_build(title, part, baseline, ci, delta, significance, n_boot, seed, notes))
    return tables


def _build(
    title: str,
    runs: list[Run],
    baseline: str | None,
    ci: bool,
    delta: bool,
    significance: bool,
    n_boot: int,
    seed: int,
    notes: list[str],
) -> Table:
    tasks = sorted({t for r in runs for t in r.tasks}, key=task_sort_key)
    columns = []
    for t in tasks:
        metrics = primary_metrics(t, runs)
        for m in metrics:
            columns.append(Column(t, m, task_title(t) if len(metrics) == 1 else f"{task_title(t)} {metric_title(m)}"))
    names = unique_names(runs, within_vlm=True)
    groups = []
    for vlm in sorted({r.vlm for r in runs}, key=lambda v: [r.vlm for r in runs].index(v)):
        members = [r for r in runs if r.vlm == vlm]
        base = group_baseline(members, baseline)
        members.sort(key=lambda r: r is not base)  # baseline first, others as given
        rows = [
            Row(r, names[id(r)], r is base, [_cell(r, c, base, ci, delta, significance, n_boot, seed) for c in columns])
            for r in members
        ]
        _mark_best(rows, len(columns))
        groups.append(Group(vlm, rows, base))
    if (delta or significance) and not any(g.baseline for g in groups):
        notes = notes + ["no baseline run found (no zero-shot run and no --baseline): Δ and significance left out"]
    return Table(title, columns, groups, ci, delta, significance, notes, n_boot, seed)


def _cell(
    run: Run, col: Column, base: Run | None, ci: bool, delta: bool, significance: bool, n_boot: int, seed: int
) -> Cell:
    v = run.metric(col.task, col.metric)
    if v is None:
        return Cell()
    k = display_scale(col.metric)
    cell = Cell(value=k * v)
    if ci:
        from harness.report.intervals import metric_interval

        iv = metric_interval(run, col.task, col.metric, n_boot=n_boot, seed=seed)
        if iv is not None:
            cell.ci_low, cell.ci_high, cell.ci_method = k * iv.low, k * iv.high, iv.method
    bv = base.metric(col.task, col.metric) if base is not None and run is not base else None
    if delta and bv is not None:
        cell.delta = k * (v - bv)
    if significance and bv is not None and base is not None:
        from harness.report.paired import compare_metric

        cmp = compare_metric(base, run, col.task, col.metric, n_boot=n_boot, seed=seed)
        cell.significant, cell.p_value = cmp.significant, cmp.p_value
    return cell


def _mark_best(rows: list[Row], n_cols: int) -> None:
    for j in range(n_cols):
        vals = [round(v, DIGITS) for v in (r.cells[j].value for r in rows) if v is not None]
        if len(vals) < 2:
            continue
        best = max(vals)
        for r in rows:
            v = r.cells[j].value
            r.cells[j].bold = v is not None and round(v, DIGITS) == best


def load_runs(paths: list[Path], baseline: str | None = None) -> list[Run]:
    """Load the runs; a --baseline run directory that is not among them is added first."""
    runs = [load_run(p) for p in expand_run_dirs(paths)]
    if baseline and Path(baseline).is_dir() and not find_run(runs, baseline):
        runs.insert(0, load_run(baseline))
    return runs

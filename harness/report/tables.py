"""Comparison tables from run records: one row per run, grouped by VLM, one column per (task, primary metric).

Columns follow the paper's order VSR, VizWiz, HM, DA·E, TSI, GTS, then any other task alphabetically.
Primary metrics: `vqa_acc` for VizWiz, `auroc` and `acc` for HM, `acc` for the rest; CLIP-classification
records (config.vlm == "clip") get their own table with top-1/top-5. Cells are in %; a missing cell is
None (rendered "–", never 0). Best per column is marked within each VLM group (ties at display precision
all marked). The baseline of a group is the run named by `baseline` (label or run directory), else the
group's zero-shot run (no encoder swap). `--ci` is ±1.96·stderr as recorded (AUROC: half the width of a
bootstrap percentile interval); Δ is in percentage points vs the group's baseline.

Runs are compared only when they saw the same items: `require_comparable` refuses (unless forced) when a
shared task's version (data + prompt version), split, limit, prompt style, scoring mode (likelihood or
generate) or item set differ. Within a VLM the recorded `item_set_sha256` and the prompt texts (which list
the options) must match; across VLMs, whose prompts differ, the (id, choices, answer) of samples.jsonl
must. Task keys are `name[:split]` (e.g. `hm:dev_seen`); the split is shown in the column title.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.report.runs import (
    DIGITS,
    TASK_TITLES,
    Run,
    metric_title,
    primary_metrics,
    split_key,
    task_sort_key,
    task_title,
)


class IncomparableRuns(ValueError):
    """The runs did not see the same items; the message names what differs."""


def _match_task(text: str, keys: list[str]) -> str | None:
    t = text.strip().lower()
    exact = [k for k in keys if t in (k.lower(), task_title(k).lower())]
    by_name = [k for k in keys if t in (split_key(k)[0], TASK_TITLES.get(split_key(k)[0], "").lower())]
    hits = exact or by_name
    return hits[0] if len(hits) == 1 else None


def resolve_task(text: str, tasks: Iterable[str]) -> tuple[str, str | None]:
    """`TSI`, `tsi`, `DA·E`, `hm:dev_seen`, `HM:acc` → (task key, metric or None) among the record keys
    `tasks` (case-insensitive; a bare name matches a key with a split when only one has that name)."""
    keys = sorted(tasks)
    key = _match_task(text, keys)
    if key is not None:
        return key, None
    left, sep, metric = text.rpartition(":")
    key = _match_task(left, keys) if sep else None
    if key is not None and metric.strip():
        return key, metric.strip()
    raise ValueError(f"task {text!r} is in none of the runs, or names several (they have: {', '.join(keys) or 'none'})")


def _item_key_hash(run: Run, task: str) -> str | None:
    samples = run.samples(task)
    if not samples:
        return None
    keys = sorted((str(s["id"]), s.get("choices"), s.get("answer")) for s in samples)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def prompts_sha256(run: Run, task: str) -> str | None:
    """sha256 of the sorted (id, prompt text) pairs; None without samples. The prompt lists the options, so
    this also catches other choice texts behind the same option letters."""
    samples = run.samples(task)
    if not samples:
        return None
    pairs = sorted((str(s["id"]), s.get("prompt")) for s in samples)
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode()).hexdigest()


def _differing(task: str, what: str, values: dict[str, Any]) -> str | None:
    """One readable line when `values` (run name → value) are not all equal."""
    by_value: dict[str, list[str]] = {}
    for run, v in values.items():
        shown = v[:12] + "…" if isinstance(v, str) and len(v) > 16 else repr(v)
        by_value.setdefault(shown, []).append(run)
    if len(by_value) < 2:
        return None
    return f"{task}: {what} differs — " + "; ".join(f"{v} in {', '.join(rs)}" for v, rs in by_value.items())


def comparability_problems(runs: list[Run]) -> list[str]:
    """Why the runs did not see the same items, one line per (task, field); [] when they did.
    CLIP-classification and VLM runs are different kinds of evaluation and are checked separately."""
    clip, vqa = [r for r in runs if r.is_clip], [r for r in runs if not r.is_clip]
    if clip and vqa:
        return comparability_problems(vqa) + comparability_problems(clip)
    names = _unique_names(runs)
    problems: list[str] = []
    tasks = sorted({t for r in runs for t in r.tasks}, key=task_sort_key)
    for task in tasks:
        have = [r for r in runs if task in r.tasks]
        if len(have) < 2:
            continue
        fields = {
            "task version (data/prompt)": lambda r: r.tasks[task].get("version"),
            "split": lambda r: (r.tasks[task].get("describe") or {}).get("split"),
            "limit": lambda r: r.config("limit"),
            "prompt style": lambda r: r.config("prompt_style"),
            "scoring mode": lambda r: r.config("mode") or "likelihood",
        }
        for what, get in fields.items():
            line = _differing(task, what, {names[id(r)]: get(r) for r in have})
            if line:
                problems.append(line)
        for vlm in sorted({r.vlm for r in have}):
            group = [r for r in have if r.vlm == vlm]
            line = _differing(
                task,
                f"item set ({vlm}: ids, choices, answers)",
                {names[id(r)]: r.tasks[task].get("item_set_sha256") for r in group},
            )
            prompts = {names[id(r)]: prompts_sha256(r, task) for r in group}
            if not line and None not in prompts.values():
                line = _differing(task, f"prompt texts ({vlm}: questions, options)", prompts)
            if line:
                problems.append(line)
        if len({r.vlm for r in have}) > 1:
            keys = {
                names[id(r)]: _item_key_hash(r, task)
                or f"{r.tasks[task].get('n', 0) + r.tasks[task].get('n_errors', 0)} items"
                for r in have
            }
            line = _differing(task, "item set across VLMs (ids, choices, answers)", keys)
            if line:
                problems.append(line)
    return problems


def require_comparable(runs: list[Run], force: bool = False) -> list[str]:
    """Raise IncomparableRuns naming the differences, unless `force` (then return them as warnings)."""
    problems = comparability_problems(runs)
    if problems and not force:
        raise IncomparableRuns(
            "the runs did not see the same items (use --force to compare anyway):\n  " + "\n  ".join(problems)
        )
    return problems


def _unique_names(runs: list[Run], within_vlm: bool = False) -> dict[int, str]:
    """Run labels, made unique: the VLM is added where labels repeat across VLMs (unless `within_vlm`),
    the run directory's name where they repeat within one."""

    def count(key) -> dict:
        c: dict = {}
        for r in runs:
            c[key(r)] = c.get(key(r), 0) + 1
        return c

    per_label, per_vlm_label = count(lambda r: r.label), count(lambda r: (r.vlm, r.label))
    out = {}
    for r in runs:
        name = r.label
        if per_vlm_label[(r.vlm, r.label)] > 1:
            name = f"{r.label} [{r.path.name}]"
        if not within_vlm and per_label[r.label] > 1:
            name = f"{name} ({r.vlm})"
        out[id(r)] = name
    return out


@dataclass
class Column:
    task: str
    metric: str
    title: str


@dataclass
class Cell:
    value: float | None = None  # percent
    ci: float | None = None  # half-width, percent
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
        raise ValueError("no runs given")
    if baseline is not None and not find_run(runs, baseline):
        raise ValueError(
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
    names = _unique_names(runs, within_vlm=True)
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
    return Table(title, columns, groups, ci, delta, significance, notes)


def _cell(
    run: Run, col: Column, base: Run | None, ci: bool, delta: bool, significance: bool, n_boot: int, seed: int
) -> Cell:
    v = run.metric(col.task, col.metric)
    if v is None:
        return Cell()
    cell = Cell(value=100 * v)
    if ci:
        cell.ci = _ci_half_width(run, col, n_boot, seed)
    bv = base.metric(col.task, col.metric) if base is not None and run is not base else None
    if delta and bv is not None:
        cell.delta = 100 * (v - bv)
    if significance and bv is not None and base is not None:
        from harness.report.stats import compare_metric

        cmp = compare_metric(base, run, col.task, col.metric, n_boot=n_boot, seed=seed)
        cell.significant, cell.p_value = cmp.significant, cmp.p_value
    return cell


def _ci_half_width(run: Run, col: Column, n_boot: int, seed: int) -> float | None:
    se = run.stderr(col.task, col.metric)
    if se is not None:
        return 100 * 1.96 * se
    if col.metric == "auroc":
        from harness.report.stats import auroc_inputs, bootstrap_auroc_ci

        data = auroc_inputs(run.samples(col.task))
        if data:
            labels, scores = zip(*data.values())
            iv = bootstrap_auroc_ci(labels, scores, n_boot=n_boot, seed=seed)
            if not math.isnan(iv.low):
                return 100 * (iv.high - iv.low) / 2
    return None


def _mark_best(rows: list[Row], n_cols: int) -> None:
    for j in range(n_cols):
        vals = [round(v, DIGITS) for v in (r.cells[j].value for r in rows) if v is not None]
        if len(vals) < 2:
            continue
        best = max(vals)
        for r in rows:
            v = r.cells[j].value
            r.cells[j].bold = v is not None and round(v, DIGITS) == best

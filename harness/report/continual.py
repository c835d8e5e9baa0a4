"""Continual-learning sequences from run records: per (VLM, method, order, seed), the zero-shot run and the run of
each session's checkpoint, with the matrix columns their metrics need. Records only; never loads a model.

A run's session, method, order and seed come from its `encoder_meta` (the checkpoint export's own metadata, then
the user's labels: sweep [[encoder]] keys, `harness eval --meta`). Columns: every task as recorded (its primary
metric), and one column per session for the matrix metrics (`continual_metrics`): the target task restricted to
that session's classes when the exports name them (the LoRSU protocol: disjoint classes of one dataset), else the
task each session trained on when they differ (one dataset per session, as MLLM continual benchmarks do).

The runs must have seen the same items, as for `harness table` (`comparable.require_comparable`, refused unless
`force`); a column holds the items every checkpoint scored, and a note says so when that narrowed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import InvalidInput
from harness.report.comparable import require_comparable
from harness.report.paired import auroc_inputs, item_scores
from harness.report.runs import Run, display_scale, primary_metrics, task_sort_key, task_title
from harness.report.stats import weighted_auroc

GROUP_KEYS = ("method", "order", "seed")


@dataclass(frozen=True, eq=False)
class Column:
    """Per-item data of one matrix column over a sequence's rows (zero-shot first, then the sessions)."""

    name: str
    task: str
    metric: str
    ids: tuple[str, ...]
    scores: np.ndarray  # [rows, items]: per-item scores (kind "mean") or P(positive) (kind "auroc")
    kind: str = "mean"  # "mean" | "auroc" | "recorded" (a metric the samples cannot reproduce)
    labels: np.ndarray | None = None  # [items], for "auroc"
    mask: np.ndarray | None = None  # [items] bool: the session's classes
    recorded: tuple[float | None, ...] = ()  # per row, for "recorded"
    scored: tuple[int, ...] = ()  # per row, the items that run scored (ids: those every row scored)

    def values(self, weights: np.ndarray | None = None) -> np.ndarray:
        """The column's metric per row; `weights` [replicates, items] (bootstrap counts) gives [replicates, rows]."""
        if self.kind == "recorded":  # metrics kept in official points (MME) become fractions of 100 points
            scale = display_scale(self.metric) / 100
            vals = np.array([np.nan if v is None else v * scale for v in self.recorded], dtype=float)
            return vals if weights is None else np.tile(vals, (weights.shape[0], 1))
        w = np.ones((1, len(self.ids))) if weights is None else weights.astype(float)
        if self.mask is not None:
            w = w * self.mask
        if self.kind == "auroc":
            out = np.stack([weighted_auroc(self.labels, row, w) for row in self.scores], axis=1)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                out = (w @ self.scores.T) / w.sum(axis=1, keepdims=True)
        return out[0] if weights is None else out


@dataclass
class Sequence:
    vlm: str
    method: str
    order: str
    seed: str
    runs: list[Run]  # zero-shot, then sessions 1..T
    target: str | None
    controls: list[str]
    tasks: list[Column] = field(default_factory=list)  # every task, whole
    sessions: list[Column] = field(default_factory=list)  # one per session, for the matrix metrics ([] if unknown)
    notes: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # between the runs, let through by `force`

    @property
    def label(self) -> str:
        parts = [self.method] + [f"{k} {v}" for k, v in (("order", self.order), ("seed", self.seed)) if v != "-"]
        return ", ".join(parts)


def run_meta(run: Run) -> dict[str, Any]:
    """What the run's PEFT adapter export and encoder export say of themselves, then its labels on top."""
    peft = (run.results.get("peft") or {}).get("export") or {}
    return {**peft, **(run.results.get("encoder_export") or {}), **(run.results.get("encoder_meta") or {})}


def session_of(run: Run) -> int | None:
    value = run_meta(run).get("session")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def row_names(seq: Sequence) -> list[str]:
    return ["zero-shot"] + [f"session {k}" for k in range(1, len(seq.runs))]


def build_sequences(
    runs: list[Run], target: str | None = None, controls: list[str] | None = None, force: bool = False
) -> list[Sequence]:
    """Every (VLM, method, order, seed) whose runs carry sessions, with its VLM's zero-shot run as row 0. Raises
    `comparable.IncomparableRuns` when the runs in the sequences did not see the same items, unless `force`."""
    seqs = []
    for vlm in dict.fromkeys(r.vlm for r in runs):
        group = [r for r in runs if r.vlm == vlm]
        staged = [r for r in group if session_of(r) is not None and not r.is_zero_shot]
        if not staged:
            continue
        zero = [r for r in group if r.is_zero_shot]
        zero = [r for r in zero if r.label == "zero-shot"] or zero
        if not zero:
            raise InvalidInput(f"VLM {vlm}: no zero-shot run (no --encoder) among the runs: it is the matrix's row 0")
        keys: dict[tuple[str, ...], list[Run]] = {}
        for r in staged:
            meta = run_meta(r)
            keys.setdefault(tuple(str(meta.get(k, "-")) for k in GROUP_KEYS), []).append(r)
        for key, members in keys.items():
            seqs.append(_sequence(vlm, key, zero[0], members, target, controls))
    if not seqs:
        raise InvalidInput(
            "no run carries a session: label session checkpoints (harness tune exports, or --meta session=N)"
        )
    differences = require_comparable(list({id(r): r for s in seqs for r in s.runs}.values()), force)
    for s in seqs:
        s.differences = differences
        s.notes[:0] = [n for c in s.tasks if (n := _narrowed(s, c))]
    return seqs


def _sequence(vlm: str, key: tuple[str, ...], zero: Run, members: list[Run], target, controls) -> Sequence:
    by_session: dict[int, Run] = {}
    for r in sorted(members, key=session_of):
        s = session_of(r)
        if s in by_session:
            raise InvalidInput(
                f"{vlm} {key}: two runs of session {s} ({by_session[s].path}, {r.path}); give each an order"
            )
        by_session[s] = r
    numbers = sorted(by_session)
    if numbers != list(range(1, len(numbers) + 1)):
        raise InvalidInput(f"{vlm} {'/'.join(key)}: sessions {numbers} are not 1..{len(numbers)}")
    runs = [zero] + [by_session[s] for s in numbers]
    tasks = sorted(set.intersection(*(set(r.tasks) for r in runs)), key=task_sort_key)
    trained = str(run_meta(runs[-1]).get("task", ""))
    tgt = _task(target, tasks, "--target", vlm) if target else (trained if trained in tasks else None)
    ctl = [_task(c, tasks, "--controls", vlm) for c in controls] if controls else [t for t in tasks if t != tgt]
    seq = Sequence(vlm, *key, runs=runs, target=tgt, controls=ctl)
    seq.tasks = [_task_column(runs, t) for t in tasks]
    seq.sessions = _session_columns(seq)
    return seq


def _task(name: str, tasks: list[str], option: str, vlm: str) -> str:
    """A task given by its record key or its title (`TSI`, `VizWiz`)."""
    for t in tasks:
        if name in (t, task_title(t)) or name.lower() == task_title(t).lower():
            return t
    raise InvalidInput(f"{option} {name!r}: not a task every run of {vlm} recorded ({', '.join(tasks)})")


def _task_column(runs: list[Run], task: str, name: str | None = None, classes: set[str] | None = None) -> Column:
    metric = primary_metrics(task, runs)[0]
    samples = [r.samples(task) for r in runs]
    name = name or task_title(task)
    if all(samples) and metric == "auroc":
        per = [auroc_inputs(s) for s in samples]
        ids = sorted(set.intersection(*(set(p) for p in per)))
        labels = np.array([per[0][i][0] for i in ids])
        scores = np.array([[p[i][1] for i in ids] for p in per])
        return Column(name, task, metric, tuple(ids), scores, "auroc", labels, scored=tuple(map(len, per)))
    per = [item_scores(s, metric) for s in samples] if all(samples) else [None]
    if any(p is None for p in per):
        return Column(
            name,
            task,
            metric,
            (),
            np.empty((len(runs), 0)),
            "recorded",
            recorded=tuple(r.metric(task, metric) for r in runs),
        )
    ids = sorted(set.intersection(*(set(p) for p in per)))
    mask = None
    if classes is not None:
        cls = _item_classes(samples[0])
        mask = np.array([cls.get(i) in classes for i in ids])
    scores = np.array([[p[i] for i in ids] for p in per])
    return Column(name, task, metric, tuple(ids), scores, mask=mask, scored=tuple(map(len, per)))


def _narrowed(seq: Sequence, col: Column) -> str | None:
    """The note for a whole-task column whose checkpoints did not all score the same items."""
    if col.kind == "recorded":
        recs = [r.tasks[col.task] for r in seq.runs]
        if len({rec.get("item_set_sha256") for rec in recs}) < 2:
            return None
        counts = ", ".join(f"{row} {rec.get('n')}" for row, rec in zip(row_names(seq), recs))
        return (
            f"{col.name}: the checkpoints scored other items ({counts}) and no samples pair them: each row is its own "
            f"run's recorded {col.metric}"
        )
    if not col.scored or min(col.scored) == len(col.ids) == max(col.scored):
        return None
    counts = ", ".join(f"{row} {n}" for row, n in zip(row_names(seq), col.scored))
    return f"{col.name}: narrowed to the {len(col.ids)} items every checkpoint scored ({counts})"


def _item_classes(samples: list[dict[str, Any]]) -> dict[str, str]:
    """An item's class as the tune exports name classes: its caption, or its label (GTS, TSI)."""
    out = {}
    for s in samples:
        meta = s.get("meta") or {}
        name = meta.get("caption") or meta.get("label")
        if isinstance(name, str):
            out[str(s["id"])] = name
    return out


def _session_columns(seq: Sequence) -> list[Column]:
    sessions = seq.runs[1:]
    metas = [run_meta(r) for r in sessions]
    if seq.target and all(m.get("session_classes") for m in metas):
        known = set(_item_classes(seq.runs[0].samples(seq.target)).values())
        if all(set(m["session_classes"]) & known for m in metas):  # each session has test items of its classes
            title = task_title(seq.target)
            cols = [
                _task_column(seq.runs, seq.target, f"{title}·s{k}", set(m["session_classes"]))
                for k, m in enumerate(metas, 1)
            ]
            if all(c.kind == "mean" for c in cols):
                return cols
            seq.notes.append(f"{seq.target}'s metric is not a per-item mean: no per-session columns")
        seq.notes.append(f"a session has no test item of its classes in {seq.target}: no per-session columns")
    trained = [str(m.get("task", "")) for m in metas]
    if len(set(trained)) == len(trained) and all(t in seq.runs[0].tasks for t in trained):
        return [next(c for c in seq.tasks if c.task == t) for t in trained]
    seq.notes.append(
        "the sessions name neither their classes nor one task each: ACC, BWT, FWT, forgetting, MFT, MFN and MAA "
        "need one test column per session"
    )
    return []

"""What an encoder update changed, item by item: paired flips against the first run, per-run metrics with
their 95% intervals, the task's per-category breakdown, and the flipped items for the HTML report.

An item is right when its prediction is the answer (`pred == answer`, the per-item score of `acc`); items
with an error or without a label in either run are not paired. Forgotten = right in the first run, wrong in
the other; learned = the reverse. McNemar's p is `harness.report.stats.mcnemar_exact_p` on those two counts,
the same test `harness compare` reports for accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from harness.report.intervals import metric_interval as run_interval
from harness.report.paired import MetricComparison, compare_metric, item_scores
from harness.report.runs import Run, metric_title, primary_metrics, split_key, task_sort_key, task_title
from harness.report.stats import DEFAULT_N_BOOT, mcnemar_exact_p

FLIP_KINDS = ("forgotten", "learned", "both_right", "both_wrong")
KIND_TITLES = {"forgotten": "forgotten", "learned": "learned", "both_right": "both right", "both_wrong": "both wrong"}
# task name → (category title, meta key); the keys the tasks' `breakdown` groups by where they have one
CATEGORIES = {
    "vsr": ("relation", "relation"),
    "vizwiz": ("answer type", "answer_type"),
    "tsi": ("action", "action"),
    "gts": ("class", "label"),
    "dalle": ("class", "label"),
    "pope": ("split", "category"),
    "mme": ("subtask", "subtask"),
    "mmbench": ("ability", "l2_category"),
    "seed_bench": ("dimension", "dimension"),
    "scienceqa": ("subject", "subject"),
    "aircraft": ("variant", "label"),
    "eurosat": ("class", "label"),
    "counteranimal": ("class", "label"),
    "visonlyqa": ("category", "category"),
    "toy_control": ("question kind", "kind"),
    "toy_target": ("question kind", "kind"),
}
MAX_CATEGORIES = 24


@dataclass(frozen=True)
class FlipCounts:
    """Paired outcomes of the first run (A) and another run (B) on the items both scored."""

    forgotten: int
    learned: int
    both_right: int
    both_wrong: int

    @property
    def n(self) -> int:
        return self.forgotten + self.learned + self.both_right + self.both_wrong

    @property
    def p_value(self) -> float:
        return mcnemar_exact_p(self.forgotten, self.learned)

    def get(self, kind: str) -> int:
        return int(getattr(self, kind))


@dataclass(frozen=True)
class RunMetric:
    """One run's value of a metric with its 95% interval (None where the record has none)."""

    metric: str
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass
class CategoryRow:
    """One category: each run's value, and per later run the items forgotten and learned in it."""

    name: str
    n: int
    values: list[float | None]
    forgotten: list[int]
    learned: list[int]


@dataclass
class FlipItem:
    """A flipped item: its samples per run (None where a run lacks it) and its kind per later run."""

    task: str
    id: str
    category: str
    samples: list[dict[str, Any] | None]
    kinds: list[str | None]
    drop: float  # largest fall of P(answer) from the first run (negative: a rise); orders the gallery

    @property
    def first_kind(self) -> str:
        return "forgotten" if "forgotten" in self.kinds else "learned"


@dataclass
class TaskReport:
    key: str
    title: str
    metrics: list[list[RunMetric]]  # per run
    flips: list[FlipCounts | None]  # per later run
    comparisons: list[list[MetricComparison]]  # per later run: compare's rows for the primary metrics
    category_title: str
    category_source: str  # what the breakdown values are
    categories: list[CategoryRow]
    categories_left_out: int
    items: list[FlipItem] = field(default_factory=list)  # shown, forgotten first
    n_flipped: dict[str, int] = field(default_factory=dict)  # kind → items flipped that way in any run
    n_flipped_items: int = 0  # before the cap


def outcomes(samples: list[dict[str, Any]]) -> dict[str, bool]:
    """Right/wrong per item id, as `acc` scores it (errors and unlabelled items left out)."""
    return {i: v == 1.0 for i, v in (item_scores(samples, "acc") or {}).items()}


def flip_kind(a: bool, b: bool) -> str:
    return ("both_right" if b else "forgotten") if a else ("learned" if b else "both_wrong")


def flip_counts(a: dict[str, bool], b: dict[str, bool]) -> FlipCounts:
    """Counts of each kind over the items both runs scored."""
    kinds = [flip_kind(a[i], b[i]) for i in set(a) & set(b)]
    return FlipCounts(*(kinds.count(k) for k in FLIP_KINDS))


def option_probs(sample: dict[str, Any]) -> list[float] | None:
    """Softmax over the options' summed log-probabilities (None for generated or errored samples)."""
    lps = sample.get("logprobs")
    if not lps or sample.get("error") is not None:
        return None
    top = max(lps)
    ex = [math.exp(x - top) for x in lps]
    total = sum(ex)
    return [e / total for e in ex]


def category_of(key: str, sample: dict[str, Any]) -> str:
    name, split = split_key(key)
    meta = sample.get("meta") or {}
    if name == "hm":
        split = split or "test_unseen"  # the task's default split
        part = "unseen" if "unseen" in split else "seen" if "seen" in split else split
        label = {1: "hateful", 0: "not hateful"}.get(meta.get("label"), "unlabelled")
        return f"{part} · {label}"
    if name in CATEGORIES:
        return str(meta.get(CATEGORIES[name][1]))
    return "all"


def category_title(key: str) -> str:
    name = split_key(key)[0]
    return "split · label" if name == "hm" else CATEGORIES.get(name, ("all items", ""))[0]


def metric_interval(run: Run, key: str, metric: str, n_boot: int = 2_000, seed: int = 0) -> RunMetric:
    """The metric with the 95% interval `harness table --ci` shows (Wilson for proportions, percentile
    bootstrap for VQA accuracy and AUROC; `harness.report.intervals`)."""
    v = run.metric(key, metric)
    if v is None:
        return RunMetric(metric, None)
    iv = run_interval(run, key, metric, n_boot=n_boot, seed=seed)
    return RunMetric(metric, v, iv.low, iv.high) if iv else RunMetric(metric, v)


def _p_answer(sample: dict[str, Any] | None) -> float | None:
    probs = option_probs(sample) if sample else None
    a = sample.get("answer", -1) if sample else -1
    return probs[a] if probs and 0 <= a < len(probs) else None


def _categories(key: str, runs: list[Run], oks: list[dict[str, bool]]) -> tuple[list[CategoryRow], str, int]:
    """Rows per category (largest first, at most MAX_CATEGORIES) and where the values come from."""
    cat: dict[str, str] = {}
    for r in runs:
        for s in r.samples(key):
            cat.setdefault(str(s["id"]), category_of(key, s))
    meta_key = CATEGORIES.get(split_key(key)[0], ("", ""))[1]
    recorded = [((r.tasks.get(key) or {}).get("breakdown") or {}).get(meta_key) for r in runs]
    use_recorded = bool(meta_key) and all(rec or key not in r.tasks for r, rec in zip(runs, recorded))
    metric = metric_title(primary_metrics(key, [r for r in runs if key in r.tasks])[0]) if use_recorded else ""
    source = f"{metric} per {meta_key}, as recorded in results.json" if use_recorded else "acc, from samples.jsonl"
    names = sorted(set(cat.values()), key=lambda c: (-sum(v == c for v in cat.values()), c))
    rows = []
    for c in names:
        ids = {i for i, v in cat.items() if v == c}
        values: list[float | None] = []
        for ok, rec in zip(oks, recorded):
            if use_recorded:
                values.append((rec or {}).get(c, {}).get("value"))
            else:
                got = [ok[i] for i in ids if i in ok]
                values.append(sum(got) / len(got) if got else None)
        fl = [flip_counts({i: oks[0][i] for i in ids if i in oks[0]}, ok) for ok in oks[1:]]
        rows.append(CategoryRow(c, len(ids), values, [f.forgotten for f in fl], [f.learned for f in fl]))
    return rows[:MAX_CATEGORIES], source, max(0, len(rows) - MAX_CATEGORIES)


def _flipped_items(key: str, runs: list[Run], oks: list[dict[str, bool]]) -> list[FlipItem]:
    by_run = [{str(s["id"]): s for s in r.samples(key)} for r in runs]
    out = []
    for i in sorted(oks[0]):
        kinds = [flip_kind(oks[0][i], ok[i]) if i in ok else None for ok in oks[1:]]
        if not {"forgotten", "learned"} & set(kinds):
            continue
        samples = [b.get(i) for b in by_run]
        p0 = _p_answer(samples[0])
        falls = [p0 - p for p in map(_p_answer, samples[1:]) if p is not None and p0 is not None]
        drop = max(falls, key=abs) if falls else 0.0
        out.append(FlipItem(key, i, category_of(key, samples[0] or {}), samples, kinds, drop))
    # forgotten first (the biggest fall of P(answer) first), then learned (the biggest rise first)
    out.sort(key=lambda it: (it.first_kind != "forgotten", -abs(it.drop), it.id))
    return out


def cap_items(items: list[FlipItem], cap: int) -> list[FlipItem]:
    """At most `cap` items, forgotten first; learned items keep at least half the cap when there are that many."""
    forgotten = [it for it in items if it.first_kind == "forgotten"]
    learned = [it for it in items if it.first_kind != "forgotten"]
    nf = min(len(forgotten), cap - min(len(learned), cap // 2))
    return forgotten[:nf] + learned[: cap - nf]


def task_reports(
    runs: list[Run], max_items: int = 200, n_boot: int = DEFAULT_N_BOOT, seed: int = 0
) -> list[TaskReport]:
    """One report per task the first run has (table order); flips and comparisons are against the first run."""
    if len(runs) < 2:
        raise ValueError("give at least two runs (the first is the reference the others are compared with)")
    out = []
    for key in sorted(runs[0].tasks, key=task_sort_key):
        have = [r for r in runs if key in r.tasks]
        metrics = primary_metrics(key, have)
        oks = [outcomes(r.samples(key)) if key in r.tasks else {} for r in runs]
        flips = [flip_counts(oks[0], ok) if oks[0] and ok else None for ok in oks[1:]]
        cmps = [
            [compare_metric(runs[0], r, key, m, n_boot=n_boot, seed=seed) for m in metrics] if key in r.tasks else []
            for r in runs[1:]
        ]
        cats, source, left = _categories(key, runs, oks) if oks[0] else ([], "", 0)
        items = _flipped_items(key, runs, oks) if oks[0] else []
        n_flipped = {k: sum(k in it.kinds for it in items) for k in ("forgotten", "learned")}
        out.append(
            TaskReport(
                key=key,
                title=task_title(key),
                metrics=[[metric_interval(r, key, m, seed=seed) for m in metrics] for r in runs],
                flips=flips,
                comparisons=cmps,
                category_title=category_title(key),
                category_source=source,
                categories=cats,
                categories_left_out=left,
                items=cap_items(items, max_items),
                n_flipped=n_flipped,
                n_flipped_items=len(items),
            )
        )
    return out

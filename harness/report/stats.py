"""Paired statistics between two runs over the same items.

- `paired_bootstrap_diff`: percentile bootstrap CI of mean(b) - mean(a) for per-item scores (accuracy,
  VQA accuracy), resampling items jointly so the pairing is kept.
- `mcnemar_exact`: exact McNemar test for two paired 0/1 outcomes (two-sided binomial test on the
  discordant pairs with p = 1/2, as statsmodels' `mcnemar(exact=True)`).
- `paired_bootstrap_auroc`: the same paired bootstrap for the AUROC difference; resamples holding a
  single class are dropped (AUROC is undefined there) and counted.

All bootstraps draw `rng.integers(0, n, size=n)` per replicate from `numpy.random.default_rng(seed)`,
vectorised in chunks of replicates; the result equals a plain loop over replicates with the same seed.
Differences are always B minus A. The second half pairs two run records item by item (`compare_runs`):
per-item scores are rebuilt from samples.jsonl exactly as the tasks compute their metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from harness.report.runs import Run

DEFAULT_N_BOOT = 10_000
_CHUNK_CELLS = 2_000_000  # replicates x items per chunk: bounds memory at ~16 MB of indices


@dataclass(frozen=True)
class DiffCI:
    """Observed difference (B - A) with a percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    n: int
    n_boot: int
    level: float = 0.95
    n_dropped: int = 0  # replicates with an undefined statistic (AUROC: one class only)

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test. `a_only`: items only A got right; `b_only`: items only B got right."""

    a_only: int
    b_only: int
    p_value: float

    @property
    def n_discordant(self) -> int:
        return self.a_only + self.b_only


def _resample_indices(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Chunks of bootstrap index rows, the same stream as `n_boot` calls of rng.integers(0, n, n)."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        yield rng.integers(0, n, size=(k, n))
        done += k


def _interval(estimate: float, reps: np.ndarray, n: int, n_boot: int, level: float) -> DiffCI:
    ok = reps[~np.isnan(reps)]
    if ok.size == 0:
        return DiffCI(estimate, math.nan, math.nan, n, n_boot, level, n_boot)
    alpha = 1.0 - level
    low, high = np.quantile(ok, [alpha / 2, 1 - alpha / 2])
    return DiffCI(estimate, float(low), float(high), n, n_boot, level, int(reps.size - ok.size))


def paired_bootstrap_diff(
    a: ArrayLike, b: ArrayLike, n_boot: int = DEFAULT_N_BOOT, seed: int = 0, level: float = 0.95
) -> DiffCI:
    """CI of mean(b) - mean(a) for paired per-item scores (same items, same order)."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.ndim != 1 or xa.shape != xb.shape:
        raise ValueError("paired scores must be two 1-D sequences of equal length")
    d = xb - xa
    n = d.size
    if n == 0:
        return DiffCI(math.nan, math.nan, math.nan, 0, n_boot, level)
    reps = np.concatenate([d[idx].mean(axis=1) for idx in _resample_indices(n, n_boot, seed)])
    return _interval(float(d.mean()), reps, n, n_boot, level)


def mcnemar_exact_p(a_only: int, b_only: int) -> float:
    """Two-sided exact p-value: 2 * P(X <= min(a_only, b_only)), X ~ Binomial(a_only + b_only, 1/2), capped at 1."""
    n, k = a_only + b_only, min(a_only, b_only)
    if n == 0:
        return 1.0
    j = np.arange(k + 1)
    # log-space so that thousands of discordant pairs neither overflow nor lose precision
    logs = math.lgamma(n + 1) - np.array([math.lgamma(x + 1) + math.lgamma(n - x + 1) for x in j]) - n * math.log(2)
    top = logs.max()
    tail = math.exp(top + math.log(np.exp(logs - top).sum()))
    return float(min(1.0, 2.0 * tail))


def mcnemar_exact(a_correct: ArrayLike, b_correct: ArrayLike) -> McNemar:
    """Exact McNemar test on paired right/wrong outcomes of runs A and B."""
    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("paired outcomes must have equal length")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    return McNemar(a_only, b_only, mcnemar_exact_p(a_only, b_only))


def _weighted_auroc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC (Mann-Whitney, ties count 1/2) for each row of item weights (bootstrap counts); NaN for one class."""
    order = np.argsort(scores, kind="stable")
    s, pos = scores[order], labels[order].astype(bool)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # first index of each tie group
    w = weights[:, order].astype(float)
    pos_g = np.add.reduceat(np.where(pos, w, 0.0), starts, axis=1)
    neg_g = np.add.reduceat(np.where(pos, 0.0, w), starts, axis=1)
    below = np.cumsum(neg_g, axis=1) - neg_g
    num = (pos_g * (below + 0.5 * neg_g)).sum(axis=1)
    den = pos_g.sum(axis=1) * neg_g.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """Per-row occurrence counts of item indices (one bincount over offset indices)."""
    k = idx.shape[0]
    flat = (np.arange(k)[:, None] * n + idx).ravel()
    return np.bincount(flat, minlength=k * n).reshape(k, n)


def auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """AUROC of one run (equals sklearn's roc_auc_score); NaN with a single class."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    if y.size == 0:
        return math.nan
    return float(_weighted_auroc(y, s, np.ones((1, y.size)))[0])


def paired_bootstrap_auroc(
    labels: ArrayLike, scores_a: ArrayLike, scores_b: ArrayLike, n_boot: int = 2_000, seed: int = 0, level: float = 0.95
) -> DiffCI:
    """CI of AUROC(b) - AUROC(a) on the same items (labels 0/1, higher score = positive)."""
    y = np.asarray(labels)
    sa, sb = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    if not (y.shape == sa.shape == sb.shape) or y.ndim != 1:
        raise ValueError("labels and both score vectors must be 1-D and of equal length")
    n = y.size
    if n == 0:
        return DiffCI(math.nan, math.nan, math.nan, 0, n_boot, level)
    est = auroc(y, sb) - auroc(y, sa)
    reps = []
    for idx in _resample_indices(n, n_boot, seed):
        w = _counts(idx, n)
        reps.append(_weighted_auroc(y, sb, w) - _weighted_auroc(y, sa, w))
    return _interval(est, np.concatenate(reps) if reps else np.array([]), n, n_boot, level)


def bootstrap_auroc_ci(
    labels: ArrayLike, scores: ArrayLike, n_boot: int = 2_000, seed: int = 0, level: float = 0.95
) -> DiffCI:
    """Percentile CI of one run's AUROC (reported as a DiffCI against 0)."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    n = y.size
    if n == 0:
        return DiffCI(math.nan, math.nan, math.nan, 0, n_boot, level)
    reps = [_weighted_auroc(y, s, _counts(idx, n)) for idx in _resample_indices(n, n_boot, seed)]
    return _interval(auroc(y, s), np.concatenate(reps) if reps else np.array([]), n, n_boot, level)


# --- paired comparison of two run records ---------------------------------------------------------


@dataclass(frozen=True)
class MetricComparison:
    """One task metric of runs A and B: recorded values, paired difference (B - A) and tests."""

    task: str
    metric: str
    a: float | None
    b: float | None
    n_paired: int
    diff: DiffCI | None = None
    mcnemar: McNemar | None = None
    note: str = ""

    @property
    def p_value(self) -> float | None:
        return self.mcnemar.p_value if self.mcnemar else None

    @property
    def significant(self) -> bool | None:
        """McNemar p < 0.05 for 0/1 metrics, else the bootstrap interval excludes 0; None if untested."""
        if self.mcnemar is not None:
            return self.mcnemar.p_value < 0.05
        return self.diff.excludes_zero if self.diff is not None and not math.isnan(self.diff.low) else None


def _ok(s: dict[str, Any]) -> bool:
    return s.get("error") is None


def item_scores(samples: list[dict[str, Any]], metric: str) -> dict[str, float] | None:
    """Per-item scores whose mean is `metric`, keyed by item id; None when the metric is not a per-item
    mean the samples can reproduce (AUROC, or an unknown metric the samples do not carry)."""
    if metric in ("acc", "acc_norm"):
        key = "pred" if metric == "acc" else "pred_norm"
        return {
            str(s["id"]): float(s[key] == s["answer"])
            for s in samples
            if _ok(s) and s.get("answer", -1) >= 0 and key in s
        }
    if metric in ("vqa_acc", "vqa_acc_norm"):
        from tasks.vqa_accuracy import vqa_accuracy

        key = "pred" if metric == "vqa_acc" else "pred_norm"
        out = {}
        for s in samples:
            meta = s.get("meta") or {}
            if not _ok(s) or not meta.get("answers"):
                continue
            if "generation" in s:
                text = s["generation"] or ""
            else:
                choices, idx = meta.get("choices") or [], s.get(key, -1)
                text = choices[idx] if 0 <= idx < len(choices) else ""
            out[str(s["id"])] = vqa_accuracy(text, meta["answers"])
        return out
    carried = [s for s in samples if _ok(s) and isinstance(s.get(metric), (bool, int, float))]
    return {str(s["id"]): float(s[metric]) for s in carried} if carried else None


def auroc_inputs(samples: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """(label, P(yes)) per item id for yes/no AUROC (Hateful Memes: options yes first)."""
    from tasks.hateful_memes import p_yes

    return {
        str(s["id"]): (int(s["meta"]["label"]), p_yes(s["logprobs"]))
        for s in samples
        if _ok(s) and (s.get("meta") or {}).get("label") is not None and s.get("logprobs")
    }


def compare_metric(
    run_a: Run, run_b: Run, task: str, metric: str, n_boot: int = DEFAULT_N_BOOT, seed: int = 0, level: float = 0.95
) -> MetricComparison:
    """Paired comparison of one task metric on the items both runs scored."""
    a, b = run_a.metric(task, metric), run_b.metric(task, metric)
    sa, sb = run_a.samples(task), run_b.samples(task)
    if not sa or not sb:
        return MetricComparison(task, metric, a, b, 0, note="no samples.jsonl: no paired statistics")
    if metric == "auroc":
        da, db = auroc_inputs(sa), auroc_inputs(sb)
        ids = sorted(set(da) & set(db))
        if any(da[i][0] != db[i][0] for i in ids):
            return MetricComparison(task, metric, a, b, len(ids), note="labels differ between the runs")
        ci = paired_bootstrap_auroc(
            [da[i][0] for i in ids],
            [da[i][1] for i in ids],
            [db[i][1] for i in ids],
            n_boot=min(n_boot, 2_000),
            seed=seed,
            level=level,
        )
        return MetricComparison(task, metric, a, b, len(ids), ci)
    xa, xb = item_scores(sa, metric), item_scores(sb, metric)
    if xa is None or xb is None:
        return MetricComparison(task, metric, a, b, 0, note=f"{metric} is not a per-item score in the samples")
    ids = sorted(set(xa) & set(xb))
    va, vb = [xa[i] for i in ids], [xb[i] for i in ids]
    ci = paired_bootstrap_diff(va, vb, n_boot=n_boot, seed=seed, level=level)
    binary = not metric.startswith("vqa_acc") and set(va) | set(vb) <= {0.0, 1.0}
    test = mcnemar_exact([x == 1.0 for x in va], [x == 1.0 for x in vb]) if binary and ids else None
    note = "" if len(ids) == len(xa) == len(xb) else f"paired on the {len(ids)} items both runs scored"
    return MetricComparison(task, metric, a, b, len(ids), ci, test, note)


def compare_runs(
    run_a: Run, run_b: Run, metrics: str = "primary", n_boot: int = DEFAULT_N_BOOT, seed: int = 0, level: float = 0.95
) -> list[MetricComparison]:
    """Every shared task (table order), with its primary metrics or, with metrics="all", every metric."""
    from harness.report.runs import primary_metrics, task_sort_key

    out = []
    for task in sorted(set(run_a.tasks) & set(run_b.tasks), key=task_sort_key):
        if metrics == "all":
            names = [m for m in run_a.tasks[task].get("metrics", {}) if m in run_b.tasks[task].get("metrics", {})]
        else:
            names = list(primary_metrics(task, [run_a, run_b]))
        out += [compare_metric(run_a, run_b, task, m, n_boot, seed, level) for m in names]
    return out

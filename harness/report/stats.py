"""Paired statistics between two runs over the same items.

- `paired_bootstrap_diff`: percentile bootstrap CI of mean(b) - mean(a) for per-item scores (accuracy,
  VQA accuracy), resampling items jointly so the pairing is kept.
- `mcnemar_exact`: exact McNemar test for two paired 0/1 outcomes (two-sided binomial test on the
  discordant pairs with p = 1/2, as statsmodels' `mcnemar(exact=True)`).
- `paired_bootstrap_auroc`: the same paired bootstrap for the AUROC difference; resamples holding a
  single class are dropped (AUROC is undefined there) and counted.

All bootstraps draw `rng.integers(0, n, size=n)` per replicate from `numpy.random.default_rng(seed)`,
vectorised in chunks of replicates; the result equals a plain loop over replicates with the same seed.
Differences are always B minus A. `harness.report.paired` pairs two run records item by item with these.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    pass

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


def weighted_auroc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
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


def resample_counts(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """[n_boot, n] occurrence counts of `n_boot` bootstrap draws of n items (the stream the paired bootstraps use)."""
    if n == 0:
        return np.zeros((n_boot, 0), dtype=np.int64)
    return np.concatenate([_counts(idx, n) for idx in _resample_indices(n, n_boot, seed)])


def auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """AUROC of one run (equals sklearn's roc_auc_score); NaN with a single class."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    if y.size == 0:
        return math.nan
    return float(weighted_auroc(y, s, np.ones((1, y.size)))[0])


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
        reps.append(weighted_auroc(y, sb, w) - weighted_auroc(y, sa, w))
    return _interval(est, np.concatenate(reps) if reps else np.array([]), n, n_boot, level)


def bootstrap_auroc_ci(
    labels: ArrayLike, scores: ArrayLike, n_boot: int = 2_000, seed: int = 0, level: float = 0.95
) -> DiffCI:
    """Percentile CI of one run's AUROC (reported as a DiffCI against 0)."""
    y, s = np.asarray(labels), np.asarray(scores, dtype=float)
    n = y.size
    if n == 0:
        return DiffCI(math.nan, math.nan, math.nan, 0, n_boot, level)
    reps = [weighted_auroc(y, s, _counts(idx, n)) for idx in _resample_indices(n, n_boot, seed)]
    return _interval(auroc(y, s), np.concatenate(reps) if reps else np.array([]), n, n_boot, level)


# --- paired comparison of two run records ---------------------------------------------------------

"""95% intervals of one run's metric that stay inside [0, 1].

- Proportions (per-item scores all 0 or 1: accuracy, top-1/top-5): the Wilson score interval, as
  statsmodels' `proportion_confint(k, n, method="wilson")`. Unlike the Wald interval p ± z·SE it never
  leaves [0, 1] and has positive width at 0/n and n/n.
- Other per-item means (VQA accuracy, whose items score 0, 1/3, 2/3 or 1) and AUROC: the percentile
  bootstrap over items (`numpy.random.default_rng(seed)`, `n_boot` replicates), inside [0, 1] by construction.
Intervals are asymmetric, so tables print them as `[low, high]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from harness.report.paired import auroc_inputs, item_scores
from harness.report.stats import bootstrap_auroc_ci

if TYPE_CHECKING:
    from harness.report.runs import Run

WILSON = "Wilson"
BOOTSTRAP = "bootstrap"
PROPORTIONS = ("acc", "acc_norm", "top1", "top5")  # used when a run has no samples to read the 0/1 scores from
CHUNK_CELLS = 2_000_000  # replicates x items per chunk of bootstrap indices (~16 MB)


@dataclass(frozen=True)
class Interval:
    low: float  # fractions, as the metric
    high: float
    method: str  # WILSON | BOOTSTRAP


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for `successes` of `n` (n > 0)."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_mean(values: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (items resampled with replacement)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, CHUNK_CELLS // max(n, 1)))
    means, done = [], 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        means.append(values[rng.integers(0, n, size=(k, n))].mean(axis=1))
        done += k
    alpha = 1 - level
    low, high = np.quantile(np.concatenate(means), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def metric_interval(run: Run, task: str, metric: str, n_boot: int = 2_000, seed: int = 0) -> Interval | None:
    """The 95% interval of `run`'s `metric` on `task` (see the module docstring); None when it cannot be had."""
    if run.metric(task, metric) is None:
        return None
    samples = run.samples(task)
    if metric == "auroc":
        data = auroc_inputs(samples)
        if not data:
            return None
        labels, scores = zip(*data.values())
        iv = bootstrap_auroc_ci(labels, scores, n_boot=n_boot, seed=seed)
        return None if math.isnan(iv.low) else Interval(iv.low, iv.high, BOOTSTRAP)
    scores = item_scores(samples, metric) if samples else None
    if scores:
        vals = np.fromiter(scores.values(), dtype=float)
        if np.isin(vals, (0.0, 1.0)).all():
            return Interval(*wilson(int(vals.sum()), vals.size), WILSON)
        return Interval(*bootstrap_mean(vals, n_boot, seed), BOOTSTRAP)
    n = run.tasks.get(task, {}).get("n")
    if metric in PROPORTIONS and isinstance(n, int) and n > 0:
        return Interval(*wilson(round(run.metric(task, metric) * n), n), WILSON)
    return None

"""Metrics over scored samples: multiple-choice accuracy (acc, acc_norm) with standard errors.

Ties: `argmax` takes the first maximal option (numpy's rule, as lm-eval). A degenerate model that scores
every option equally therefore always predicts option 0; tasks balance the answer position to keep that
from looking like skill.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    value: float
    stderr: float | None = None


def argmax_first(values: Sequence[float]) -> int:
    """Index of the first maximal value (the documented tie rule)."""
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def mean_stderr(values: Sequence[float]) -> Metric:
    """Mean with the standard error of the mean (sample std with n-1, as lm-eval's `mean_stderr`)."""
    n = len(values)
    if n == 0:
        return Metric(float("nan"), None)
    mu = sum(values) / n
    if n < 2:
        return Metric(mu, None)
    var = sum((v - mu) ** 2 for v in values) / (n - 1)
    return Metric(mu, math.sqrt(var / n))


def scored(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples a metric counts: scored without an item error, with a known answer."""
    return [s for s in samples if s.get("error") is None and s.get("answer", -1) >= 0]


def accuracy_by(samples: list[dict[str, Any]], field: str) -> dict[str, Metric]:
    """Accuracy per value of the samples' `meta[field]` (sorted by value), over the scored samples."""
    groups: dict[str, list[float]] = {}
    for s in scored(samples):
        groups.setdefault(str(s["meta"][field]), []).append(float(s["pred"] == s["answer"]))
    return {k: mean_stderr(v) for k, v in sorted(groups.items())}


def multiple_choice_metrics(samples: list[dict[str, Any]]) -> dict[str, Metric]:
    """acc (argmax of summed log-prob) and acc_norm (sum divided by the option's character count)."""
    scored_samples = scored(samples)
    acc = [float(s["pred"] == s["answer"]) for s in scored_samples]
    out = {"acc": mean_stderr(acc)}
    if scored_samples and "pred_norm" in scored_samples[0]:
        out["acc_norm"] = mean_stderr([float(s["pred_norm"] == s["answer"]) for s in scored_samples])
    return out


def mean_class_accuracy(samples: list[dict[str, Any]], field: str, pred: str = "pred") -> Metric:
    """The mean over classes (`meta[field]`) of each class's accuracy, every class weighted equally (the mean of
    the row-normalised confusion matrix's diagonal, FGVC-Aircraft's official metric), over the scored samples.
    Its standard error is sqrt(Σ se_c²) / C when every class has at least two samples, else None."""
    groups: dict[str, list[float]] = {}
    for s in scored(samples):
        groups.setdefault(str(s["meta"][field]), []).append(float(s[pred] == s["answer"]))
    if not groups:
        return Metric(float("nan"), None)
    per = [mean_stderr(v) for v in groups.values()]
    value = sum(m.value for m in per) / len(per)
    if any(m.stderr is None for m in per):
        return Metric(value, None)
    return Metric(value, math.sqrt(sum((m.stderr or 0.0) ** 2 for m in per)) / len(per))

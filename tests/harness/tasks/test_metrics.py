"""acc / acc_norm / stderr against direct computations (numpy, lm-eval's definitions)."""

from __future__ import annotations

import math

import numpy as np

from harness.eval.engine import OptionScore
from harness.eval.scoring import likelihood_sample
from harness.tasks.base import Item
from harness.tasks.metrics import argmax_first, mean_stderr, multiple_choice_metrics


def test_argmax_ties_take_the_first():
    assert argmax_first([1.0, 3.0, 3.0]) == 1 == int(np.argmax([1.0, 3.0, 3.0]))
    assert argmax_first([-2.0, -2.0]) == 0


def test_mean_stderr_matches_sample_std_over_sqrt_n():
    xs = [1, 0, 1, 1, 0, 0, 1]
    m = mean_stderr(xs)
    assert math.isclose(m.value, np.mean(xs))
    assert math.isclose(m.stderr, np.std(xs, ddof=1) / math.sqrt(len(xs)))


def test_acc_and_acc_norm_follow_lm_eval():
    rng = np.random.default_rng(0)
    samples, acc, acc_norm = [], [], []
    for i in range(50):
        choices = tuple("x" * int(rng.integers(1, 12)) for _ in range(4))
        lps = rng.normal(-10, 3, size=4)
        answer = int(rng.integers(0, 4))
        scores = [OptionScore(float(lp), 2, len(c), False) for lp, c in zip(lps, choices)]
        samples.append(likelihood_sample("t", Item(str(i), "", "q", choices, answer), "ctx", choices, " ", scores))
        acc.append(int(np.argmax(lps)) == answer)
        acc_norm.append(int(np.argmax(lps / np.array([len(c) for c in choices]))) == answer)
    samples.append({"error": "image not found", "answer": 1})  # errors are excluded
    m = multiple_choice_metrics(samples)
    assert math.isclose(m["acc"].value, np.mean(acc)) and math.isclose(m["acc_norm"].value, np.mean(acc_norm))
    assert math.isclose(m["acc"].stderr, np.std(acc, ddof=1) / math.sqrt(50))

"""Paired statistics against reference computations: statsmodels/scipy McNemar, sklearn AUROC, slow loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from harness.report import stats
from harness.report.stats import (
    auroc,
    bootstrap_auroc_ci,
    mcnemar_exact,
    mcnemar_exact_p,
    paired_bootstrap_auroc,
    paired_bootstrap_diff,
)

TABLES = [(0, 0), (0, 1), (1, 0), (3, 3), (5, 0), (2, 9), (12, 11), (40, 25), (0, 20), (300, 350), (1234, 1111)]


@pytest.mark.parametrize("a_only,b_only", TABLES)
def test_mcnemar_matches_statsmodels_and_scipy(a_only, b_only):
    both, neither = 17, 8
    table = [[both, a_only], [b_only, neither]]
    ref = sm_mcnemar(table, exact=True)
    assert mcnemar_exact_p(a_only, b_only) == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    n = a_only + b_only
    if n:
        assert mcnemar_exact_p(a_only, b_only) == pytest.approx(
            binomtest(min(a_only, b_only), n, 0.5).pvalue, rel=1e-9, abs=1e-300
        )


def test_mcnemar_from_outcomes_counts_the_discordant_pairs():
    rng = np.random.default_rng(1)
    a, b = rng.random(200) < 0.6, rng.random(200) < 0.7
    res = mcnemar_exact(a, b)
    assert (res.a_only, res.b_only) == (int((a & ~b).sum()), int((~a & b).sum()))
    assert res.n_discordant == int((a != b).sum())
    table = [[int((a & b).sum()), res.a_only], [res.b_only, int((~a & ~b).sum())]]
    assert res.p_value == pytest.approx(sm_mcnemar(table, exact=True).pvalue, rel=1e-9)


def _slow_bootstrap_diff(a, b, n_boot, seed):
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a, float), np.asarray(b, float)
    reps = []
    for _ in range(n_boot):
        idx = rng.integers(0, a.size, size=a.size)
        reps.append(b[idx].mean() - a[idx].mean())
    return np.quantile(reps, [0.025, 0.975])


@pytest.mark.parametrize("chunk_cells", [10**6, 500])  # one chunk, and many uneven chunks
def test_paired_bootstrap_equals_a_plain_loop(monkeypatch, chunk_cells):
    monkeypatch.setattr(stats, "_CHUNK_CELLS", chunk_cells)
    rng = np.random.default_rng(0)
    a = (rng.random(137) < 0.55).astype(float)
    b = np.clip(a + (rng.random(137) < 0.15), 0, 1)
    ci = paired_bootstrap_diff(a, b, n_boot=1001, seed=7)
    low, high = _slow_bootstrap_diff(a, b, 1001, 7)
    assert ci.estimate == pytest.approx(b.mean() - a.mean())
    assert (ci.low, ci.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert ci.low <= ci.estimate <= ci.high and ci.n == 137


def test_paired_bootstrap_is_seeded_and_uses_the_pairing():
    a = np.array([0, 1] * 50, float)
    same = paired_bootstrap_diff(a, a, n_boot=500, seed=3)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)  # paired: identical runs never differ
    b = a.copy()
    b[:10] = 1 - b[:10]
    one, two = paired_bootstrap_diff(a, b, 500, seed=3), paired_bootstrap_diff(a, b, 500, seed=3)
    assert one == two
    assert paired_bootstrap_diff(a, b, 500, seed=4) != one


def test_vqa_scores_bootstrap_too():
    a = [0.0, 1 / 3, 2 / 3, 1.0, 0.6] * 8
    b = [1.0, 1 / 3, 2 / 3, 1.0, 0.9] * 8
    ci = paired_bootstrap_diff(a, b, 400, seed=0)
    assert ci.estimate == pytest.approx((1.0 + 0.3) / 5)
    assert 0 < ci.low <= ci.estimate <= ci.high


def test_auroc_equals_sklearn_with_ties():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.3 * y, 1)  # coarse scores: many ties
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert math.isnan(auroc([1, 1, 1], [0.1, 0.2, 0.3]))


def _slow_auroc_boot(y, sa, sb, n_boot, seed):
    rng = np.random.default_rng(seed)
    reps, dropped = [], 0
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, size=y.size)
        if len(set(y[idx])) < 2:
            dropped += 1
            continue
        reps.append(roc_auc_score(y[idx], sb[idx]) - roc_auc_score(y[idx], sa[idx]))
    return np.quantile(reps, [0.025, 0.975]), dropped


def test_paired_auroc_bootstrap_equals_sklearn_loop():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 80)
    sa = np.round(rng.random(80) + 0.2 * y, 2)
    sb = np.round(rng.random(80) + 0.6 * y, 2)
    ci = paired_bootstrap_auroc(y, sa, sb, n_boot=300, seed=11)
    (low, high), dropped = _slow_auroc_boot(y, sa, sb, 300, 11)
    assert ci.estimate == pytest.approx(roc_auc_score(y, sb) - roc_auc_score(y, sa), abs=1e-12)
    assert (ci.low, ci.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert ci.n_dropped == dropped == 0


def test_auroc_bootstrap_drops_single_class_resamples_like_the_loop():
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])  # one positive: many resamples miss it
    sa = np.linspace(0, 1, 10)
    sb = sa[::-1].copy()
    ci = paired_bootstrap_auroc(y, sa, sb, n_boot=200, seed=0)
    (low, high), dropped = _slow_auroc_boot(y, sa, sb, 200, 0)
    assert ci.n_dropped == dropped > 0
    assert (ci.low, ci.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))


def test_single_run_auroc_interval_equals_loop():
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 60)
    s = rng.random(60) + 0.5 * y
    iv = bootstrap_auroc_ci(y, s, n_boot=200, seed=1)
    r = np.random.default_rng(1)
    reps = []
    for _ in range(200):
        idx = r.integers(0, 60, size=60)
        reps.append(roc_auc_score(y[idx], s[idx]))
    assert (iv.low, iv.high) == tuple(pytest.approx(v, abs=1e-12) for v in np.quantile(reps, [0.025, 0.975]))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1, 0], [1])  # unequal lengths
    with pytest.raises(ValueError):
        mcnemar_exact([True], [True, False])
    assert math.isnan(paired_bootstrap_diff([], []).estimate)

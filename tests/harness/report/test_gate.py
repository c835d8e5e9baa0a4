"""Regression gate: pass/fail on metric drops, item-set, version and prompt changes; --update; tolerances."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from harness.cli import app
from harness.report.gate import check_run, hanley_mcneil_se, make_baseline, statistical_tolerance
from harness.report.runs import load_run
from tests.harness.report.conftest import HM_LABELS, HM_ZS
from tests.harness.report.fixtures import hm_samples, mc_samples, pattern, write_run

runner = CliRunner()


def _run(tmp_path, name, n_correct, n=50, **kw):
    prompt = kw.pop("prompt", "question")
    return write_run(
        tmp_path,
        name,
        {"tsi": mc_samples("tsi", pattern(n, n_correct), prompt=prompt), "hm": hm_samples(HM_LABELS, HM_ZS)},
        **kw,
    )


@pytest.fixture
def baseline_file(tmp_path):
    run = _run(tmp_path, "base", 30)
    path = tmp_path / "baselines" / "tiny.json"
    res = runner.invoke(app, ["check", str(run), "--baseline", str(path), "--update"])
    assert res.exit_code == 0 and "wrote baseline" in res.output
    return path


def finding(output: str, status: str, task: str, what: str) -> str:
    """The report line for (status, task, what), or "" when there is none."""
    for line in output.splitlines():
        if line.split()[:3] == [status, task, *what.split()][:3] and what in line:
            return line
    return ""


def _check(run, baseline, *extra):
    return runner.invoke(app, ["check", str(run), "--baseline", str(baseline), *extra])


def test_the_default_tolerance_is_the_one_sided_95_bound_of_a_rerun():
    z = NormalDist().inv_cdf(0.95)
    assert statistical_tolerance("acc", 0.6, 50) == pytest.approx(z * math.sqrt(2) * math.sqrt(0.6 * 0.4 / 50))
    assert z == pytest.approx(1.6449, abs=1e-4)
    assert statistical_tolerance("acc", 0.6, 50, confidence=0.99) > statistical_tolerance("acc", 0.6, 50)
    assert statistical_tolerance("acc", 1.0, 50) == 0.0


def test_hanley_mcneil_se_matches_the_simulated_spread_of_auroc():
    rng = np.random.default_rng(0)
    aucs = [
        roc_auc_score(np.r_[np.ones(60), np.zeros(90)], np.r_[rng.exponential(1, 60) * 3, rng.exponential(1, 90)])
        for _ in range(400)
    ]  # exponential scores: the model Hanley & McNeil derived the formula under
    se = hanley_mcneil_se(float(np.mean(aucs)), 60, 90)
    assert se == pytest.approx(np.std(aucs), rel=0.15)


def test_baseline_file_holds_metrics_n_and_hashes(baseline_file):
    b = json.loads(baseline_file.read_text())
    assert b["format"] == "harness-baseline" and b["format_version"] == 1
    tsi = b["tasks"]["tsi"]
    assert tsi["n"] == 50 and tsi["metrics"]["acc"]["value"] == 0.6 and len(tsi["item_set_sha256"]) == 64
    assert tsi["version"] == "1.p1" and tsi["prompt_version"] == "1" and len(tsi["prompts_sha256"]) == 64
    assert b["tasks"]["hm"]["metrics"]["auroc"]["n_pos"] == 3 and b["tasks"]["hm"]["metrics"]["auroc"]["n_neg"] == 3


def test_identical_run_passes(tmp_path, baseline_file):
    res = _check(_run(tmp_path, "again", 30), baseline_file)
    assert res.exit_code == 0, res.output
    assert res.output.rstrip().endswith("PASS") and "FAIL" not in res.output


def test_drop_within_the_bound_passes_and_beyond_fails(tmp_path, baseline_file):
    # tolerance at p = 0.6, n = 50: 16.1 points; one item = 2 points
    ok = _check(_run(tmp_path, "minus8", 22), baseline_file)
    assert ok.exit_code == 0, ok.output
    bad = _check(_run(tmp_path, "minus9", 21), baseline_file)
    assert bad.exit_code == 1
    line = finding(bad.output, "FAIL", "tsi", "acc")
    assert "60.0 → 42.0" in line and "allowed drop 16.1" in line
    assert "--update" in bad.output


def test_fixed_tolerance_in_points(tmp_path, baseline_file):
    run = _run(tmp_path, "minus1", 29)  # 2 points down
    assert _check(run, baseline_file, "--tolerance", "2").exit_code == 0
    assert _check(run, baseline_file, "--tolerance", "1.9").exit_code == 1
    assert "fixed, 2 points" in _check(run, baseline_file, "--tolerance", "2").output


def test_improvement_passes_with_a_hint(tmp_path, baseline_file):
    res = _check(_run(tmp_path, "better", 45), baseline_file)
    assert res.exit_code == 0 and "improved" in res.output and "consider --update" in res.output


def test_item_set_change_fails_even_with_equal_scores(tmp_path, baseline_file):
    res = _check(_run(tmp_path, "fewer", 24, n=40), baseline_file)  # 60% again, on 40 items
    assert res.exit_code == 1
    assert "the items changed" in finding(res.output, "FAIL", "tsi", "item set")


def test_version_and_prompt_changes_fail(tmp_path, baseline_file):
    res = _check(_run(tmp_path, "v2", 30, versions={"tsi": "1.p2"}), baseline_file)
    assert res.exit_code == 1 and "version changed" in res.output
    res = _check(_run(tmp_path, "reworded", 30, prompt="reworded question"), baseline_file)
    assert res.exit_code == 1 and "prompt texts changed" in finding(res.output, "FAIL", "tsi", "prompts")
    assert finding(res.output, "ok", "tsi", "item set")


def test_missing_task_and_missing_metric_fail(tmp_path, baseline_file):
    only_tsi = write_run(tmp_path, "only", {"tsi": mc_samples("tsi", pattern(50, 30))})
    res = _check(only_tsi, baseline_file)
    assert res.exit_code == 1 and "not in the run" in res.output
    no_norm = write_run(
        tmp_path,
        "nonorm",
        {"tsi": mc_samples("tsi", pattern(50, 30)), "hm": hm_samples(HM_LABELS, HM_ZS)},
        drop_metrics={"tsi": ["acc_norm"]},
    )
    res = _check(no_norm, baseline_file)
    assert res.exit_code == 1 and "missing or undefined now" in res.output


def test_fingerprint_changes_warn_but_do_not_fail(tmp_path, baseline_file):
    res = _check(_run(tmp_path, "swapped", 30, encoder="enc.pt"), baseline_file)
    assert res.exit_code == 0 and "warn" in res.output and "encoder_sha256" in res.output


def test_update_replaces_the_baseline_deliberately(tmp_path, baseline_file):
    worse = _run(tmp_path, "worse", 10)
    assert _check(worse, baseline_file).exit_code == 1
    res = _check(worse, baseline_file, "--update")
    assert res.exit_code == 0 and "FAIL" in res.output and "wrote baseline" in res.output  # shows what it replaces
    assert json.loads(baseline_file.read_text())["tasks"]["tsi"]["metrics"]["acc"]["value"] == 0.2
    assert _check(worse, baseline_file).exit_code == 0


def test_missing_or_foreign_baseline_file_is_a_clear_error(tmp_path):
    run = _run(tmp_path, "r", 30)
    res = _check(run, tmp_path / "none.json")
    assert res.exit_code == 2 and "does not exist" in res.output and "--update" in res.output
    (tmp_path / "other.json").write_text(json.dumps({"tasks": {}}))
    res = _check(run, tmp_path / "other.json")
    assert res.exit_code == 2 and "not a harness baseline" in res.output


def test_check_run_api(tmp_path):
    base = make_baseline(load_run(_run(tmp_path, "b", 30)))
    report = check_run(load_run(_run(tmp_path, "n", 21)), base)
    assert not report.passed and [(f.task, f.what) for f in report.failures] == [("tsi", "acc"), ("tsi", "acc_norm")]


def test_an_undefined_metric_is_null_in_the_baseline_and_not_gated(tmp_path):
    """One class only: AUROC is undefined; the baseline file is strict JSON with null there (issue 27, item 5)."""
    run = write_run(tmp_path, "one_class", {"hm": hm_samples([1, 1, 1, 1], [0.6, 0.4, 0.5, 0.3])})
    path = tmp_path / "b.json"
    assert runner.invoke(app, ["check", str(run), "--baseline", str(path), "--update"]).exit_code == 0

    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    auroc = json.loads(path.read_text(), parse_constant=refuse)["tasks"]["hm"]["metrics"]["auroc"]
    assert auroc["value"] is None and auroc["n_neg"] == 0
    res = _check(run, path)
    assert res.exit_code == 0 and "undefined in the baseline: not gated" in res.output, res.output


class _Drop:
    """A run whose only metric is CounterAnimal's drop (common − counter accuracy)."""

    def __init__(self, value: float):
        self.value = value

    def metric(self, task: str, metric: str) -> float:
        return self.value


def test_a_smaller_drop_is_an_improvement_and_a_larger_one_fails():
    """Lower is better for `drop`; its tolerance is z·√2 times the recorded standard error of the difference."""
    from harness.report.gate import _check_metric

    entry = {"value": 0.30, "stderr": 0.02}
    tol = NormalDist().inv_cdf(0.95) * math.sqrt(2) * 0.02  # 0.0465
    check = lambda v: _check_metric(_Drop(v), "counteranimal", "drop", entry, 100, None, 0.95).status  # noqa: E731
    assert check(0.30 - tol - 0.01) == "improved" and check(0.30 + tol + 0.01) == "FAIL"
    assert check(0.30 + tol - 0.01) == "ok" and check(0.30 - tol + 0.01) == "ok"
    assert _check_metric(_Drop(0.33), "counteranimal", "drop", entry, 100, 2.0, 0.95).status == "FAIL"  # 3 > 2 points

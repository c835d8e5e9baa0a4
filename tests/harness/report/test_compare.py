"""`harness compare` and the record-level pairing: per-item scores, McNemar tables, bootstrap intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from typer.testing import CliRunner

from harness.cli import app
from harness.report.paired import compare_runs, item_scores
from harness.report.runs import load_run
from harness.report.stats import paired_bootstrap_auroc, paired_bootstrap_diff
from tests.harness.report.conftest import HM_LABELS, HM_LORSU, HM_ZS
from tests.harness.report.fixtures import hm_samples, mc_samples, pattern, write_run

runner = CliRunner()


def test_item_scores_reproduce_every_recorded_metric(paper_runs):
    for path in paper_runs.values():
        run = load_run(path)
        for task, rec in run.tasks.items():
            for metric, m in rec["metrics"].items():
                scores = item_scores(run.samples(task), metric)
                if metric == "auroc":
                    assert scores is None
                    continue
                assert np.mean(list(scores.values())) == pytest.approx(m["value"]), (path.name, task, metric)


def test_compare_json_against_reference_computations(paper_runs):
    a, b = paper_runs["llava-zs"], paper_runs["llava-lorsu"]
    res = runner.invoke(app, ["compare", str(a), str(b), "--json", "--n-boot", "2000", "--seed", "3"])
    assert res.exit_code == 0, res.output
    rows = {(r["task"], r["metric"]): r for r in json.loads(res.output)}
    assert list(rows) == [("vsr", "acc"), ("vizwiz", "vqa_acc"), ("hm", "auroc"), ("hm", "acc"), ("tsi", "acc")]

    tsi = rows[("tsi", "acc")]
    ra, rb = load_run(a), load_run(b)
    ca = {s["id"]: s["correct"] for s in ra.samples("tsi")}
    cb = {s["id"]: s["correct"] for s in rb.samples("tsi")}
    table = [
        [sum(ca[i] and cb[i] for i in ca), sum(ca[i] and not cb[i] for i in ca)],
        [sum(cb[i] and not ca[i] for i in ca), sum(not ca[i] and not cb[i] for i in ca)],
    ]
    assert (tsi["a_only"], tsi["b_only"]) == (table[0][1], table[1][0])
    assert tsi["mcnemar_p"] == pytest.approx(sm_mcnemar(table, exact=True).pvalue)
    ids = sorted(ca)
    ci = paired_bootstrap_diff([float(ca[i]) for i in ids], [float(cb[i]) for i in ids], n_boot=2000, seed=3)
    assert tsi["diff"] == pytest.approx(0.4) and tsi["ci95"] == pytest.approx([ci.low, ci.high])
    assert tsi["significant"] is True and tsi["n_paired"] == 50

    viz = rows[("vizwiz", "vqa_acc")]
    assert viz["diff"] == pytest.approx(1.0 - 0.6) and viz["mcnemar_p"] is None and viz["ci95"] is not None

    hm = rows[("hm", "auroc")]
    ref = paired_bootstrap_auroc(HM_LABELS, HM_ZS, HM_LORSU, n_boot=2000, seed=3)
    assert hm["diff"] == pytest.approx(1 - 5 / 9) and hm["ci95"] == pytest.approx([ref.low, ref.high])


def test_compare_table_output(paper_runs):
    res = runner.invoke(
        app,
        ["compare", str(paper_runs["llava-zs"]), str(paper_runs["llava-ft"]), "--metrics", "all"],
        env={"COLUMNS": "120"},
    )
    assert res.exit_code == 0, res.output
    tsi = next(line for line in res.output.splitlines() if line.startswith("tsi") and " acc " in line)
    assert tsi.split()[:6] == ["tsi", "acc", "50", "20.0", "70.0", "+50.0"]
    assert any(line.startswith("tsi") and "acc_norm" in line for line in res.output.splitlines())
    assert "Δ = B − A" in res.output


def test_compare_refuses_other_items_unless_forced(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 10))})
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(30, 20))}, encoder="b.pt")
    res = runner.invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 2 and "tsi: item set" in res.output
    rows = compare_runs(load_run(a), load_run(b))
    assert rows[0].n_paired == 20 and "paired on the 20 items" in rows[0].note


def test_compare_without_samples_reports_values_only(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 10))}, write_samples=False)
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(20, 15))}, encoder="b.pt", write_samples=False)
    (row,) = compare_runs(load_run(a), load_run(b))
    assert (row.a, row.b, row.diff, row.mcnemar) == (0.5, 0.75, None, None) and "no samples" in row.note


def _strict(text: str):
    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_compare_json_is_strict_when_a_metric_is_undefined(tmp_path):
    """One class only: AUROC and its paired interval are undefined, written as null (issue 27, item 5)."""
    a = write_run(tmp_path, "a", {"hm": hm_samples([1, 1, 1, 1], [0.6, 0.4, 0.5, 0.3])})
    b = write_run(tmp_path, "b", {"hm": hm_samples([1, 1, 1, 1], [0.7, 0.2, 0.5, 0.9])}, encoder="b.pt")
    _strict((a / "results.json").read_text())  # the fixture writes as the runner does
    res = runner.invoke(app, ["compare", str(a), str(b), "--json", "--metrics", "all", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    rows = {r["metric"]: r for r in _strict(res.stdout)}
    assert (
        rows["auroc"]["a"] is None and rows["auroc"]["diff"] is None and rows["auroc"]["ci95"] in (None, [None, None])
    )
    assert rows["acc"]["a"] == 0.5 and rows["acc"]["ci95"][0] is not None

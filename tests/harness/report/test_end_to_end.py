"""The real flow on the tiny LLaVA: eval → baseline → check passes on a re-run, fails on other items."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness.cli import app
from harness.eval.runner import EvalConfig, run_eval
from harness.tasks.toy_shapes import write_mcq_set

runner = CliRunner()


def _eval(model, data, out):
    return run_eval(
        EvalConfig(tasks=[f"mcq_jsonl={data}"], model=str(model), device="cpu", out=str(out), batch_size=4),
        progress=False,
    )


def test_gate_table_and_compare_on_real_records(tiny_llava_dir, tmp_path):
    data = write_mcq_set(tmp_path / "data", 8, seed=0)
    first = _eval(tiny_llava_dir, data, tmp_path / "run1")
    baseline = tmp_path / "baselines" / "tiny.json"
    res = runner.invoke(app, ["check", str(tmp_path / "run1"), "--baseline", str(baseline), "--update"])
    assert res.exit_code == 0, res.output
    assert json.loads(baseline.read_text())["tasks"]["mcq_jsonl"]["n"] == 8

    again = _eval(tiny_llava_dir, data, tmp_path / "run2")  # an identical, independent re-run
    assert again["tasks"]["mcq_jsonl"]["metrics"] == first["tasks"]["mcq_jsonl"]["metrics"]
    res = runner.invoke(app, ["check", str(tmp_path / "run2"), "--baseline", str(baseline)])
    assert res.exit_code == 0, res.output
    assert res.output.rstrip().endswith("PASS")

    res = runner.invoke(app, ["compare", str(tmp_path / "run1"), str(tmp_path / "run2"), "--json"])
    (row,) = [r for r in json.loads(res.output) if r["metric"] == "acc"]
    assert (row["diff"], row["a_only"], row["b_only"], row["mcnemar_p"]) == (0.0, 0, 0, 1.0)

    fewer = write_mcq_set(tmp_path / "fewer", 6, seed=0)  # the item set changes
    _eval(tiny_llava_dir, fewer, tmp_path / "run3")
    res = runner.invoke(app, ["check", str(tmp_path / "run3"), "--baseline", str(baseline)])
    assert res.exit_code == 1
    assert "the items changed" in res.output and "FAIL" in res.output.splitlines()[-1]
    res = runner.invoke(app, ["table", str(tmp_path / "run1"), str(tmp_path / "run3")])
    assert res.exit_code == 2 and "mcq_jsonl: item set" in res.output

    reshuffled = write_mcq_set(tmp_path / "other", 8, seed=1)  # same ids and count, other questions/options
    _eval(tiny_llava_dir, reshuffled, tmp_path / "run4")
    res = runner.invoke(app, ["check", str(tmp_path / "run4"), "--baseline", str(baseline)])
    assert res.exit_code == 1 and "the items changed" in res.output and "prompt texts changed" in res.output

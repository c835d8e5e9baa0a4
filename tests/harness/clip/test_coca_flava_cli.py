"""`harness tune --clip SPEC --method M` on the real-geometry CoCa and FLAVA: a two-session continual run from a
task with the contrastive objective, whose last export `harness eval --vlm clip --encoder` swaps back in."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.toy_shapes import write_mcq_set
from tests.harness.clip import coca_flava_fixtures as shared

coca_spec, flava_spec = shared.coca_spec, shared.flava_spec  # session fixtures
runner = CliRunner()
# FLAVA's LoRA needs its peft targets in harness/tune/lora.py (not yet there)
RUNS = [("coca", m) for m in ("lorsu", "lora", "ln", "fft", "spu")]
RUNS += [("flava", m) for m in ("lorsu", "lora", "ln", "fft", "spu")]
FORMAT = {"coca": "open_clip visual (strict)", "flava": "hf_flava"}


@pytest.mark.parametrize(("family", "method"), RUNS)
def test_harness_tune_runs_every_method_then_eval_swaps_the_export(family, method, coca_spec, flava_spec, tmp_path):
    spec = coca_spec if family == "coca" else flava_spec
    data = write_mcq_set(tmp_path / "d", 16, seed=3)
    out = tmp_path / "run"
    args = ["tune", "--method", method, "--clip", spec, "--task", f"mcq_jsonl={data}", "--protocol", "continual"]
    args += ["--sessions", "2", "--shots", "2", "--epochs", "1", "--batch-size", "4", "--lr", "1e-3"]
    args += ["--top-k-heads", "1", "--importance-samples", "4", "--rank", "2", "--augment", "none"]
    res = runner.invoke(app, [*args, "--device", "cpu", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "tune.json").read_text())
    assert record["complete"] and len(record["sessions"]) == 2 and record["method"] == method
    export = out / "session-2" / "checkpoint_session-2_epoch-1.pt"
    ev = tmp_path / "eval"
    res = runner.invoke(
        app,
        ["eval", "--vlm", "clip", "--model", spec, "--tasks", f"mcq_jsonl={data}", "--encoder", str(export)]
        + ["--device", "cpu", "--out", str(ev)],
    )
    assert res.exit_code == 0, res.output
    results = json.loads((ev / "results.json").read_text())
    assert results["encoder"]["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    assert results["encoder"]["swap_report"]["format"] == FORMAT[family]
    assert results["tasks"]["mcq_jsonl"]["n"] == 16

"""Records are flushed as items finish; a run killed with SIGKILL resumes to the uninterrupted metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.eval.records import RunDir, RunDirMismatch
from harness.eval.runner import EvalConfig, run_eval
from harness.tasks.toy_shapes import write_mcq_set


@pytest.fixture(scope="module")
def mcq_file(tmp_path_factory) -> Path:
    return write_mcq_set(tmp_path_factory.mktemp("data"), 120, seed=3)


def _cfg(model_dir, mcq_file, out, **kw) -> EvalConfig:
    return EvalConfig(tasks=[f"mcq_jsonl={mcq_file}"], model=str(model_dir), device="cpu", out=str(out), **kw)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_sigkill_then_resume_equals_uninterrupted(tiny_llava_dir, mcq_file, tmp_path):
    full = run_eval(_cfg(tiny_llava_dir, mcq_file, tmp_path / "full", batch_size=1), progress=False)

    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "harness.cli",
        "eval",
        "--tasks",
        f"mcq_jsonl={mcq_file}",
        "--model",
        str(tiny_llava_dir),
        "--device",
        "cpu",
        "--batch-size",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = out / "samples.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if samples.exists() and samples.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_killed = samples.read_bytes().count(b"\n")
    assert 10 <= n_killed < 120, "the run must have been interrupted part-way"
    assert not (out / "results.json").exists()
    with open(samples, "ab") as f:  # simulate a torn write at the moment of the kill
        f.write(b'{"task": "mcq_jsonl", "id": "torn')

    resumed = run_eval(_cfg(tiny_llava_dir, mcq_file, out, batch_size=1), progress=False)
    assert resumed["timing"]["items_scored_this_invocation"] == 120 - n_killed
    assert resumed["tasks"]["mcq_jsonl"]["metrics"] == full["tasks"]["mcq_jsonl"]["metrics"]
    assert resumed["tasks"]["mcq_jsonl"]["item_set_sha256"] == full["tasks"]["mcq_jsonl"]["item_set_sha256"]
    got, ref = _lines(samples), _lines(tmp_path / "full" / "samples.jsonl")
    assert sorted(s["id"] for s in got) == sorted(s["id"] for s in ref)  # every item exactly once
    ref_by_id = {s["id"]: s for s in ref}
    for s in got:
        assert s["logprobs"] == pytest.approx(ref_by_id[s["id"]]["logprobs"], abs=1e-5)


def test_rerun_of_a_finished_run_scores_nothing(tiny_llava_dir, mcq_file, tmp_path, loads):
    cfg = _cfg(tiny_llava_dir, mcq_file, tmp_path / "r", limit=16)
    first = run_eval(cfg, progress=False)
    loads.clear()
    again = run_eval(cfg, progress=False)
    assert loads == [] and again["skipped"]  # returned from results.json, the model never loaded
    assert again["tasks"] == first["tasks"] and again["timing"] == first["timing"]
    (tmp_path / "r" / "results.json").unlink()  # samples complete, results lost: re-derived, nothing scored
    rebuilt = run_eval(cfg, progress=False)
    assert rebuilt["timing"]["items_scored_this_invocation"] == 0
    assert rebuilt["tasks"] == {k: {**v, "seconds": rebuilt["tasks"][k]["seconds"]} for k, v in first["tasks"].items()}


def test_resume_refuses_a_different_config(tiny_llava_dir, mcq_file, tmp_path):
    run_eval(_cfg(tiny_llava_dir, mcq_file, tmp_path / "r", limit=4), progress=False)
    with pytest.raises(RunDirMismatch, match="prompt_style"):
        run_eval(_cfg(tiny_llava_dir, mcq_file, tmp_path / "r", limit=4, prompt_style="text"), progress=False)
    # --overwrite starts over
    res = run_eval(
        _cfg(tiny_llava_dir, mcq_file, tmp_path / "r", limit=4, prompt_style="text", overwrite=True), progress=False
    )
    assert res["timing"]["items_scored_this_invocation"] == 4


def test_corrupt_middle_line_is_an_error(tmp_path):
    run = RunDir(tmp_path)
    run.prepare({"a": 1})
    run.samples_path.write_text('{"task": "t", "id": "1"}\n{oops}\n{"task": "t", "id": "2"}\n')
    with pytest.raises(ValueError, match="samples.jsonl:2"):
        run.done()

"""Data-parallel `harness eval` under torchrun (gloo, CPU): same log-probs and metrics as one process; a rank
killed with SIGKILL leaves torn shards that a relaunch with another world size completes, every item once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.eval.runner import EvalConfig, run_eval
from harness.tasks.toy_shapes import write_mcq_set

N = 24


@pytest.fixture(scope="module")
def mcq(tmp_path_factory) -> Path:
    return write_mcq_set(tmp_path_factory.mktemp("data"), N + 6, seed=4)


def _eval_args(model: Path, mcq: Path, out: Path, batch_size: int) -> list[str]:
    return [
        *("-m", "harness.cli", "eval", "--tasks", f"mcq_jsonl={mcq}", "--model", str(model), "--device", "cpu"),
        *("--batch-size", str(batch_size), "--limit", str(N), "--out", str(out), "--quiet"),
    ]


def _torchrun(nproc: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _samples(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def _reference(model: Path, mcq: Path, out: Path) -> dict:
    return run_eval(
        EvalConfig(tasks=[f"mcq_jsonl={mcq}"], model=str(model), device="cpu", batch_size=1, limit=N, out=str(out)),
        progress=False,
    )


def test_two_ranks_equal_one_process(tiny_llava_dir, mcq, tmp_path):
    ref = _reference(tiny_llava_dir, mcq, tmp_path / "one")
    ref_lp = {s["id"]: s["logprobs"] for s in _samples(tmp_path / "one")}
    for bs, tol in ((1, 1e-6), (4, 1e-5)):
        out = tmp_path / f"two-bs{bs}"
        proc = subprocess.run(
            [*_torchrun(2), *_eval_args(tiny_llava_dir, mcq, out, bs)], env=_env(), capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.count("Results") == 1  # only rank 0 prints
        got = _samples(out)
        assert [s["id"] for s in got] == list(ref_lp)  # merged in item order, each once
        assert not list(out.glob("samples.rank-*.jsonl"))
        for s in got:
            assert s["logprobs"] == pytest.approx(ref_lp[s["id"]], abs=tol)
        res = json.loads((out / "results.json").read_text())
        assert res["tasks"]["mcq_jsonl"]["metrics"] == ref["tasks"]["mcq_jsonl"]["metrics"]
        assert res["tasks"]["mcq_jsonl"]["item_set_sha256"] == ref["tasks"]["mcq_jsonl"]["item_set_sha256"]


def _rank_pid(launcher: subprocess.Popen, rank: int) -> int | None:
    for child in psutil.Process(launcher.pid).children(recursive=True):
        try:
            if child.environ().get("RANK") == str(rank) and "harness.cli" in " ".join(child.cmdline()):
                return child.pid
        except psutil.Error:
            continue
    return None


def test_killed_rank_then_one_process_completes_every_item_once(tiny_llava_dir, mcq, tmp_path):
    out = tmp_path / "killed"
    launcher = subprocess.Popen(
        [*_torchrun(2), *_eval_args(tiny_llava_dir, mcq, out, 1)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shard = out / "samples.rank-1.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (shard.exists() and shard.read_bytes().count(b"\n") >= 3):
        time.sleep(0.002)
    pid = _rank_pid(launcher, 1)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    launcher.wait(timeout=120)
    assert launcher.returncode != 0 and not (out / "results.json").exists()
    shards = sorted(out.glob("samples.rank-*.jsonl"))
    n_before = sum(p.read_bytes().count(b"\n") for p in shards)
    assert 3 <= n_before < N, "the run must have been interrupted part-way"
    with open(shard, "ab") as f:  # a write torn by the kill
        f.write(b'{"task": "mcq_jsonl", "id": "to')

    resumed = _reference(tiny_llava_dir, mcq, out)  # one process, same command
    assert resumed["timing"]["items_scored_this_invocation"] == N - n_before
    ref = _reference(tiny_llava_dir, mcq, tmp_path / "one")
    got = _samples(out)
    assert [s["id"] for s in got] == [s["id"] for s in _samples(tmp_path / "one")]  # each once, in item order
    assert not list(out.glob("samples.rank-*.jsonl"))
    ref_lp = {s["id"]: s["logprobs"] for s in _samples(tmp_path / "one")}
    for s in got:
        assert s["logprobs"] == pytest.approx(ref_lp[s["id"]], abs=1e-6)
    assert resumed["tasks"]["mcq_jsonl"]["metrics"] == ref["tasks"]["mcq_jsonl"]["metrics"]

"""Unreadable images are recorded as errors with the reason; the run fails only past --max-errors."""

from __future__ import annotations

import json

import pytest

from harness.eval.config import EvalConfig, TooManyErrors
from harness.eval.runner import run_eval
from harness.tasks.toy_shapes import write_mcq_set


def test_corrupt_and_missing_images(tiny_llava_dir, tmp_path):
    data = write_mcq_set(tmp_path / "d", 10, seed=2)
    rows = [json.loads(x) for x in data.read_text().splitlines()]
    (data.parent / rows[2]["image"]).write_bytes(b"not a png")
    (data.parent / rows[5]["image"]).unlink()
    cfg = dict(tasks=[f"mcq_jsonl={data}"], model=str(tiny_llava_dir), device="cpu", out=str(tmp_path / "r"))
    with pytest.raises(TooManyErrors, match="2 items"):
        run_eval(EvalConfig(**cfg), progress=False)
    res = run_eval(EvalConfig(**cfg, max_errors=2), progress=False)
    t = res["tasks"]["mcq_jsonl"]
    assert t["n"] == 8 and t["n_errors"] == 2
    samples = {json.loads(x)["id"]: json.loads(x) for x in (tmp_path / "r" / "samples.jsonl").read_text().splitlines()}
    assert "cannot read image" in samples[rows[2]["id"]]["error"]
    assert "image not found" in samples[rows[5]["id"]]["error"]
    assert all(s["error"] is None for k, s in samples.items() if k not in (rows[2]["id"], rows[5]["id"]))
    # the images mended, a re-run of the same config is not "finished": it retries exactly the two errored items
    fresh = write_mcq_set(tmp_path / "fresh", 10, seed=2)
    for i in (2, 5):
        (data.parent / rows[i]["image"]).write_bytes((fresh.parent / rows[i]["image"]).read_bytes())
    again = run_eval(EvalConfig(**cfg, max_errors=2), progress=False)
    assert not again.get("skipped") and again["timing"]["items_scored_this_invocation"] == 2
    assert again["tasks"]["mcq_jsonl"]["n"] == 10 and again["tasks"]["mcq_jsonl"]["n_errors"] == 0
    assert run_eval(EvalConfig(**cfg, max_errors=2), progress=False)["skipped"]  # now it is finished

"""`RunDir.merge`: whatever an interrupted run left (samples.jsonl from a relaunch, rank shards from a killed
torchrun job, retried errored items), samples.jsonl ends as one record per item in item order."""

from __future__ import annotations

import json

from harness.eval.records import RunDir


def _rec(i: int, error: str | None = None) -> dict:
    return {"task": "t", "id": f"q{i}", "error": error, "logprobs": [-float(i), -1.5]}


def _ids(run: RunDir) -> list[str]:
    return [json.loads(x)["id"] for x in run.samples_path.read_text().splitlines()]


def test_a_relaunch_after_a_killed_torchrun_job_merges_in_item_order(tmp_path):
    run = RunDir(tmp_path)
    run.append([_rec(0), _rec(2)], rank=0)  # the killed job's shards
    run.append([_rec(1)], rank=1)
    run.append([_rec(3), _rec(4)])  # the one-process relaunch scored the rest into samples.jsonl
    run.merge([("t", f"q{i}") for i in range(5)])
    assert _ids(run) == ["q0", "q1", "q2", "q3", "q4"]
    assert not run.shard_paths()
    assert json.loads(run.samples_path.read_text().splitlines()[2]) == _rec(2)


def test_a_retried_item_keeps_its_place_and_one_record(tmp_path):
    run = RunDir(tmp_path)
    run.append([_rec(0), _rec(1, "image not found"), _rec(2)])
    run.append([_rec(1)])  # the resume retried it
    run.merge([("t", f"q{i}") for i in range(3)])
    lines = [json.loads(x) for x in run.samples_path.read_text().splitlines()]
    assert [s["id"] for s in lines] == ["q0", "q1", "q2"] and lines[1]["error"] is None


def test_items_outside_the_order_follow_it_and_a_file_in_order_is_untouched(tmp_path):
    run = RunDir(tmp_path)
    run.append([_rec(9), _rec(1), _rec(0)])
    run.merge([("t", "q0"), ("t", "q1")])
    assert _ids(run) == ["q0", "q1", "q9"]
    before = run.samples_path.stat().st_mtime_ns
    run.merge([("t", "q0"), ("t", "q1")])
    assert run.samples_path.stat().st_mtime_ns == before

"""The command line as a user meets it: help texts, a full eval, clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.toy_shapes import write_mcq_set

runner = CliRunner()


def test_help_explains_every_option():
    res = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for opt in (
        "--tasks",
        "--vlm",
        "--model",
        "--encoder",
        "--allow-partial",
        "--interpolate-pos",
        "--data-root",
        "--data",
        "--limit",
        "--batch-size",
        "--dtype",
        "--device",
        "--seed",
        "--prompt-style",
        "--max-errors",
        "--out",
        "--label",
        "--overwrite",
    ):
        assert opt in res.output, opt
    top = runner.invoke(app, ["--help"])
    for cmd in ("eval", "vlms", "tasks", "demo"):
        assert cmd in top.output


def test_eval_writes_records_and_prints_a_summary(tiny_llava_dir, tmp_path):
    data = write_mcq_set(tmp_path / "d", 12, seed=1)
    out = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "eval",
            "--tasks",
            f"mcq_jsonl={data}",
            "--model",
            str(tiny_llava_dir),
            "--device",
            "cpu",
            "--out",
            str(out),
            "--quiet",
            "--batch-size",
            "4",
        ],
    )
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert results["tasks"]["mcq_jsonl"]["n"] == 12
    assert results["config"]["batch_size"] == 4
    assert "mcq_jsonl" in res.output and "acc" in res.output
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[0])["prompt"].startswith("USER: <image>\n")


def test_missing_weights_say_so_and_how_to_fetch(tmp_path):
    data = tmp_path / "q.jsonl"
    data.write_text('{"id": "q1", "image": "q1.png", "question": "?", "choices": ["a", "b"], "answer": 0}\n')
    res = runner.invoke(
        app,
        ["eval", "--tasks", f"mcq_jsonl={data}", "--model", "nobody/no-such-model", "--device", "cpu"],
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)},
    )
    assert res.exit_code == 2
    assert "not available on this machine" in res.output and "hf download nobody/no-such-model" in res.output


def test_unknown_task_and_vlm_are_clear(tiny_llava_dir):
    res = runner.invoke(app, ["eval", "--tasks", "nope", "--model", str(tiny_llava_dir), "--device", "cpu"])
    assert res.exit_code == 2 and "unknown task 'nope'" in res.output
    res = runner.invoke(app, ["eval", "--tasks", "nope", "--vlm", "blip9"])
    assert res.exit_code == 2 and "unknown --vlm 'blip9'" in res.output


def test_vlms_and_tasks_listings():
    listed = " ".join(runner.invoke(app, ["vlms"], env={"COLUMNS": "200"}).output.split())
    assert all(name in listed for name in ("llava", "minigptv2", "gemma4", "chameleon", "clip"))
    # every model of the survey, with what the harness does for it and what it cannot
    assert "FLAVA" in listed and "CoCa" in listed and "Qwen-VL" in listed and "trust_remote_code" in listed
    res = runner.invoke(app, ["tasks"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "mcq_jsonl" in res.output


def test_bad_mode_and_style_fail_before_loading_a_model():
    res = runner.invoke(app, ["eval", "--tasks", "toy_control", "--model", "/nonexistent", "--mode", "chat"])
    assert res.exit_code == 2 and "--mode 'chat'" in res.output
    res = runner.invoke(app, ["eval", "--tasks", "toy_control", "--model", "/nonexistent", "--prompt-style", "x"])
    assert res.exit_code == 2 and "--prompt-style 'x'" in res.output

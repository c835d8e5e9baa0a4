"""`harness tune` as a user meets it: every option documented, a continual run, resume, clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.toy_shapes import write_mcq_set

runner = CliRunner()
OPTIONS = (
    "--method",
    "--clip",
    "--task",
    "--out",
    "--data-root",
    "--split",
    "--limit",
    "--template",
    "--protocol",
    "--sessions",
    "--shots",
    "--epochs",
    "--lr",
    "--batch-size",
    "--seed",
    "--rank",
    "--alpha",
    "--sparsity",
    "--top-k-heads",
    "--importance-samples",
    "--lorsu-importance",
    "--lorsu-proj-lora",
    "--lorsu-bias",
    "--spu-importance",
    "--spu-edit-text",
    "--spu-decay-outside-mask",
    "--weight-decay",
    "--schedule",
    "--augment",
    "--lora-persist",
    "--device",
    "--amp",
    "--workers",
    "--overwrite",
    "--quiet",
)


def test_help_lists_every_option():
    res = runner.invoke(app, ["tune", "--help"], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    for opt in OPTIONS:
        assert opt in res.output, opt
    assert "tune" in runner.invoke(app, ["--help"]).output


def test_continual_run_from_a_task_then_resume(clip_specs, tmp_path):
    data = write_mcq_set(tmp_path / "d", 24, seed=3)
    out = tmp_path / "run"
    args = [
        "tune",
        "--method",
        "spu",
        "--clip",
        clip_specs["hf"],
        "--task",
        f"mcq_jsonl={data}",
        "--protocol",
        "continual",
        "--sessions",
        "2",
        "--shots",
        "2",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--lr",
        "1e-3",
        "--template",
        "a photo of {}",
        "--augment",
        "none",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--quiet",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    record = json.loads((out / "tune.json").read_text())
    assert record["complete"] and len(record["sessions"]) == 2 and record["task"].startswith("mcq_jsonl")
    assert record["data"]["templates"] == ["a photo of {}"]
    assert record["hyper_parameters"]["weight_decay"] == 0.2 and record["hyper_parameters"]["sparsity"] == 0.1
    assert (out / "session-2" / "checkpoint_session-2_epoch-1.pt").is_file()
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.output.count("already done") == 2


def test_errors_are_one_line(clip_specs, tmp_path):
    data = write_mcq_set(tmp_path / "d", 4, seed=3)
    res = runner.invoke(
        app,
        [
            "tune",
            "--method",
            "dora",
            "--clip",
            clip_specs["hf"],
            "--task",
            f"mcq_jsonl={data}",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2 and "--method 'dora'" in res.output and "Traceback" not in res.output
    res = runner.invoke(
        app, ["tune", "--method", "ln", "--clip", clip_specs["hf"], "--task", "gts", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "--data-root" in res.output

"""`harness tune --vlm`: through the CLI on the toy LLaVA, tune → a cost table → the exported tower evaluated with
`harness eval --encoder`; an answer with no tokens to train on is refused in one line with nothing written."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.toy_shapes import write_mcq_set
from harness.toy.build import MODELS_DIR

runner = CliRunner()
LLAVA = str(MODELS_DIR / "llava")
ENV = {"COLUMNS": "200", "HF_HUB_OFFLINE": "1"}


def _tune(data, out, *extra: str) -> list[str]:
    return ["tune", "--vlm", "llava", "--model", LLAVA, "--task", f"mcq_jsonl={data}", "--out", str(out),
            "--device", "cpu", "--quiet", "--epochs", "1", "--batch-size", "4", "--lr", "1e-3", *extra]  # fmt: skip


def test_tune_through_the_vlm_then_evaluate_the_exported_tower(tmp_path):
    data = write_mcq_set(tmp_path / "data", 8, seed=3)
    res = runner.invoke(app, [*_tune(data, tmp_path / "t"), "--method", "lorsu", "--prompt-format", "text"], env=ENV)
    assert res.exit_code == 0, res.output
    assert "GFLOPs" in res.output and "trainable" in res.output
    record = json.loads((tmp_path / "t" / "tune.json").read_text())
    assert record["objective"] == "vlm_answer_cross_entropy" and record["hyper_parameters"]["rank"] == 64
    assert record["cost"]["flops_per_step"] > 0
    ckpt = tmp_path / "t" / "session-1" / record["sessions"][0]["files"]["release"]
    assert ckpt.suffix == ".safetensors"
    args = ["eval", "--tasks", f"mcq_jsonl={data}", "--model", LLAVA, "--device", "cpu", "--encoder", str(ckpt)]
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "run"), "--prompt-style", "text"], env=ENV)
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["encoder"]["swap_report"]["format"] == "hf_clip"
    assert results["encoder_meta"]["method"] == "lorsu" and str(results["encoder_meta"]["session"]) == "1"


def test_an_answer_without_tokens_is_refused_before_anything_is_written(tmp_path):
    data = write_mcq_set(tmp_path / "data", 4, seed=3)
    rows = [json.loads(x) for x in data.read_text().splitlines()]
    rows[1]["choices"][rows[1]["answer"]] = " "
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = runner.invoke(app, [*_tune(data, tmp_path / "t"), "--method", "ln", "--prompt-format", "text"], env=ENV)
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and "empty or tokenizes to nothing" in res.output
    assert res.output.strip().count("\n") == 0 and "Traceback" not in res.output
    assert not (tmp_path / "t").exists()

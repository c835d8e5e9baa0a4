"""Chameleon through the CLI (64 px crop model, see `test_chameleon`): `harness eval` scores equal a plain forward and
`--mode generate` records the adapter's greedy answers; `--encoder` and `harness tune --vlm chameleon` are refused in
one line with exit code 2 and nothing written; `harness vlms` says what the family can and cannot do."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.adapters.chameleon import ChameleonAdapter
from harness.cli import app
from harness.eval.engine import Request, plain_forward_scores
from harness.tasks.base import open_rgb
from harness.tasks.toy_shapes import write_mcq_set
from harness.toy.real_geometry_chameleon import build_real_chameleon

runner = CliRunner()
ENV = {"COLUMNS": "300", "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_real_chameleon(tmp_path_factory.mktemp("chameleon_cli"), crop=64)["model"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_mcq_set(tmp_path_factory.mktemp("chameleon_data"), 4, seed=5, size=48)


def _eval(model_dir, data, out, *extra: str) -> list[str]:
    return ["eval", "--vlm", "chameleon", "--model", str(model_dir), "--tasks", f"mcq_jsonl={data}",
            "--device", "cpu", "--out", str(out), "--quiet", *extra]  # fmt: skip


def _samples(out) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def _one_line_error(res, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert all(n in lines[0] for n in needles), lines[0]


def test_eval_scores_and_generations_through_the_cli(model_dir, data, tmp_path):
    adapter = ChameleonAdapter.load(str(model_dir), device="cpu")
    res = runner.invoke(app, _eval(model_dir, data, tmp_path / "text", "--prompt-style", "text"), env=ENV)
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "text" / "results.json").read_text())
    assert results["model"]["vlm"] == "chameleon" and results["model"]["image_tokens"] == 16
    for s in _samples(tmp_path / "text"):
        image = open_rgb(data.parent / f"images/filled_{s['id'].split('-')[1]}.png")
        req = Request(s["id"], image, s["prompt"], tuple(s["continuations"]), "")
        assert s["logprobs"] == pytest.approx(plain_forward_scores(adapter, req), abs=1e-4), s["id"]
    gen = ["--mode", "generate", "--max-new-tokens", "3", "--batch-size", "4"]
    res = runner.invoke(app, _eval(model_dir, data, tmp_path / "gen", *gen), env=ENV)
    assert res.exit_code == 0, res.output
    samples = _samples(tmp_path / "gen")
    assert len(samples) == 4 and any(s["generation"] for s in samples)
    for s in samples:
        image = open_rgb(data.parent / f"images/filled_{s['id'].split('-')[1]}.png")
        assert s["generation"] == adapter.generate([image], [adapter.encode(s["prompt"], image)], 3)[0], s["id"]


def test_encoder_is_refused_before_anything_loads_or_is_written(model_dir, data, tmp_path):
    ckpt = tmp_path / "tower.safetensors"
    ckpt.write_bytes(b"not read")
    out = tmp_path / "run"
    res = runner.invoke(app, _eval(model_dir, data, out, "--encoder", str(ckpt)), env=ENV)
    _one_line_error(res, f"--encoder {ckpt}", "--vlm chameleon cannot swap encoders", "no continuous vision tower")
    assert not out.exists()


def test_tune_is_refused_in_one_line(model_dir, data, tmp_path):
    out = tmp_path / "tune"
    args = ["tune", "--vlm", "chameleon", "--model", str(model_dir), "--task", f"mcq_jsonl={data}", "--out", str(out)]
    res = runner.invoke(app, [*args, "--method", "lorsu", "--device", "cpu", "--quiet", "--epochs", "1"], env=ENV)
    _one_line_error(res, "--vlm chameleon: Chameleon has no continuous vision tower", "harness tune updates a vision")
    assert not out.exists()


def test_vlms_lists_what_chameleon_can_and_cannot_do():
    res = runner.invoke(app, ["vlms"], env=ENV)
    assert res.exit_code == 0, res.output
    line = " ".join(res.output.split()).split("chameleon Chameleon", 1)[1]
    assert "likelihood and generate modes" in line and "No continuous vision tower" in line
    assert "--encoder and harness tune --vlm chameleon are refused" in line

"""Qwen3-VL through `harness eval` on its real-geometry model: recorded scores equal a plain forward at batch sizes
1 and 8 (mixed image sizes in one batch), and the other model's `visual.*` swaps in and changes them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.adapters.registry import load_vlm
from harness.cli import app
from tests.harness.adapters.test_qwen2_5_vl_eval import mcq, references, samples

__all__ = ["mcq"]  # a module fixture shared with the Qwen2.5-VL tests


@pytest.fixture(scope="module")
def dirs(vocabularies, tmp_path_factory):
    from harness.toy.real_geometry_qwen import build_real_qwen

    base = build_real_qwen("qwen3_vl", tmp_path_factory.mktemp("qwen3"), vocabularies)["model"]
    other = build_real_qwen("qwen3_vl", tmp_path_factory.mktemp("qwen3_other"), vocabularies, seed=5)["model"]
    return base, other


def load(path):
    return load_vlm("qwen3_vl", str(path), "float32", "cpu")


def run(model, mcq, out, *extra: str):
    args = ["eval", "--vlm", "qwen3_vl", "--model", str(model), "--tasks", f"mcq_jsonl={mcq}", "--device", "cpu"]
    return CliRunner().invoke(app, [*args, "--out", str(out), "--quiet", "--prompt-style", "text", *extra])


def test_eval_scores_equal_a_plain_forward_and_a_swapped_tower_changes_them(dirs, mcq, tmp_path):
    runs = {"bs8": ["--batch-size", "8", "--limit", "6"], "bs1": ["--batch-size", "1", "--limit", "2"]}
    for name, extra in runs.items():
        assert run(dirs[0], mcq, tmp_path / name, *extra).exit_code == 0
    base = {s["id"]: s for s in samples(tmp_path / "bs8")}
    assert len(base) == 6  # five image sizes in the one batch
    ref = references(load(dirs[0]), mcq, list(base.values()))
    for s in [*base.values(), *samples(tmp_path / "bs1")]:
        assert s["logprobs"] == pytest.approx(ref[s["id"]], abs=1e-4), s["id"]
    res = run(dirs[0], mcq, tmp_path / "swap", "--batch-size", "2", "--limit", "2", "--encoder", str(dirs[1]))
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "swap" / "results.json").read_text())["encoder"]["swap_report"]
    assert report["format"] == "hf_qwen3_vit" and report["tensors_changed"] == report["tensors_total"] == 75
    assert {"pos_embed", "block.3", "merger", "deepstack_merger.2"} <= set(report["max_abs_change"])
    swapped = load(dirs[0])
    swapped.swap_encoder(str(dirs[1]))
    found = samples(tmp_path / "swap")
    ref = references(swapped, mcq, found)
    for s in found:
        assert s["logprobs"] == pytest.approx(ref[s["id"]], abs=1e-4)
        assert s["logprobs"] != pytest.approx(base[s["id"]]["logprobs"], abs=1e-3)

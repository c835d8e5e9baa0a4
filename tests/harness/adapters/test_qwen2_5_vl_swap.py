"""Encoder swaps into Qwen2.5-VL's own ViT on its real-geometry model: the other model's `visual.*` or a bare
tower replace the tower and change `harness eval`'s scores (still a plain forward of the swapped model); another
geometry is refused naming what differs, another family before any model loads (`harness eval` exits 2), the
tower left untouched."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from transformers import Qwen2_5_VisionTransformerPretrainedModel, Qwen2_5_VLVisionConfig
from typer.testing import CliRunner

from harness.adapters.checkpoints import EncoderCheckpointError
from harness.adapters.registry import check_encoder_family
from harness.cli import app
from tests.conftest import random_image
from tests.harness.adapters.test_qwen2_5_vl_eval import dirs, load, mcq, references, run, samples

__all__ = ["dirs", "mcq"]  # module fixtures shared with the eval tests


def test_a_swapped_tower_changes_the_scores(dirs, mcq, tmp_path):
    """`--encoder` the other model's directory: its `visual.*` replace every tower tensor, the LLM is ignored,
    and the scores are the swapped model's plain forward, not the original's."""
    base = run(dirs[0], mcq, tmp_path / "base", "--limit", "3", "--batch-size", "3")
    swapped = run(dirs[0], mcq, tmp_path / "swap", "--limit", "3", "--batch-size", "3", "--encoder", str(dirs[1]))
    report = swapped["encoder"]["swap_report"]
    assert report["format"] == "hf_qwen_vit" and report["tower"] == "Qwen2.5-VL ViT"
    assert report["tensors_replaced"] == report["tensors_total"] == report["tensors_changed"] == 54
    assert any(k.startswith("model.layers.") for k in report["ignored"]) and "lm_head.weight" in report["ignored"]
    assert set(report["max_abs_change"]) >= {"patch_embed", "block.0", "block.3", "merger"}
    before = {s["id"]: s["logprobs"] for s in samples(tmp_path / "base")}
    assert all(s["logprobs"] != pytest.approx(before[s["id"]], abs=1e-3) for s in samples(tmp_path / "swap"))
    swapped_adapter = load(dirs[0])
    swapped_adapter.swap_encoder(str(dirs[1]))
    ref = references(swapped_adapter, mcq, samples(tmp_path / "swap"))
    assert all(s["logprobs"] == pytest.approx(ref[s["id"]], abs=1e-4) for s in samples(tmp_path / "swap"))
    assert base["model"]["vlm"] == swapped["model"]["vlm"]


def test_a_bare_tower_swaps_in(dirs, tmp_path):
    other = load(dirs[1])
    save_file({k: v.contiguous() for k, v in other.vision_tower.state_dict().items()}, tmp_path / "tower.safetensors")
    adapter = load(dirs[0])
    assert adapter.swap_encoder(str(tmp_path / "tower.safetensors")).tensors_changed == 54
    x = adapter.image_inputs([random_image(1).resize((224, 224))])
    with torch.no_grad():
        a = adapter.vision_tower(x["pixel_values"], grid_thw=x["image_grid_thw"]).pooler_output
        b = other.vision_tower(x["pixel_values"], grid_thw=x["image_grid_thw"]).pooler_output
    assert torch.equal(
        torch.cat(list(a)) if isinstance(a, list | tuple) else a,
        torch.cat(list(b)) if isinstance(b, list | tuple) else b,
    )


def _tower(**changes) -> dict[str, torch.Tensor]:
    cfg = dict(depth=4, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64)
    cfg.update(changes)
    config = Qwen2_5_VLVisionConfig(**cfg, fullatt_block_indexes=[1, 3], window_size=112, patch_size=14)
    return Qwen2_5_VisionTransformerPretrainedModel(config).state_dict()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (lambda: _tower(depth=2), "depth: checkpoint has 2 blocks, tower has 4"),
        (
            lambda: _tower(out_hidden_size=48),
            "merger output: checkpoint projects to width 48, the tower's LLM takes 64",
        ),
        (lambda: _tower(hidden_size=48), "width: checkpoint hidden size is 48, tower's is 32"),
        (  # a Qwen2-VL-style block MLP (fc1/fc2, no gate): the first offending keys are named
            lambda: {k.replace("gate_proj", "fc1").replace("down_proj", "fc2"): v for k, v in _tower().items()},
            "unknown tensor(s) that the tower does not have: blocks.0.mlp.fc1.bias",
        ),
    ],
)
def test_another_geometry_is_refused_and_the_tower_kept(dirs, tmp_path, state, message):
    adapter = load(dirs[0])
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    save_file({k: v.contiguous() for k, v in state().items()}, tmp_path / "t.safetensors")
    with pytest.raises(EncoderCheckpointError, match=message.replace("(", r"\(").replace(")", r"\)")):
        adapter.swap_encoder(str(tmp_path / "t.safetensors"))
    assert all(torch.equal(v, before[k]) for k, v in adapter.vision_tower.state_dict().items())


def test_another_family_is_refused_before_the_model_loads(dirs, tiny_open_clip_ckpt):
    """From the tensor names alone (`check_encoder_family`), both ways; after loading, the swap refuses it too."""
    with pytest.raises(EncoderCheckpointError, match="CLIP ViT checkpoint .*--vlm qwen2_5_vl swaps only qwen_vit"):
        check_encoder_family("qwen2_5_vl", str(tiny_open_clip_ckpt))
    with pytest.raises(EncoderCheckpointError, match="Qwen2.5-VL ViT checkpoint .*First keys: visual.blocks.0"):
        check_encoder_family("llava", str(dirs[1]))
    check_encoder_family("qwen2_5_vl", str(dirs[1]))
    with pytest.raises(EncoderCheckpointError, match="the Qwen2.5-VL tower is a Qwen2.5-VL ViT"):
        load(dirs[0]).swap_encoder(str(tiny_open_clip_ckpt))


def test_harness_eval_refuses_another_familys_tower_before_loading(dirs, mcq, tiny_open_clip_ckpt, tmp_path):
    """Exit 2, one line naming the file and the family; no run directory is written."""
    args = ["eval", "--vlm", "qwen2_5_vl", "--model", str(dirs[0]), "--tasks", f"mcq_jsonl={mcq}", "--device", "cpu"]
    res = CliRunner().invoke(app, [*args, "--encoder", str(tiny_open_clip_ckpt), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and "CLIP ViT checkpoint" in res.output and "qwen_vit" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "r").exists()

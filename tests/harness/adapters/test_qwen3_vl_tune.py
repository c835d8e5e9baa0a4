"""Qwen3-VL's tower on its real-geometry model: a Qwen2.5-VL tower is refused before the model loads, another
Qwen3 geometry naming what differs (the tower untouched); the VLM objective tunes its blocks (DeepStack and patch
mergers frozen), its loss and gradient equal plain forwards, and `harness eval --encoder` swaps the exported tower
back."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import Qwen3VLVisionConfig, Qwen3VLVisionModel
from typer.testing import CliRunner

from harness.adapters.checkpoints import EncoderCheckpointError
from harness.adapters.mrope import token_types
from harness.adapters.registry import check_encoder_family
from harness.cli import app
from harness.tune.vlm_model import VlmTower
from harness.tune.vlm_objective import AnswerObjective
from tests.conftest import random_image
from tests.harness.adapters.test_qwen2_5_vl_eval import dirs as qwen25_dirs
from tests.harness.adapters.test_qwen2_5_vl_eval import mcq
from tests.harness.adapters.test_qwen3_vl_swap import dirs, load, run

__all__ = ["dirs", "mcq", "qwen25_dirs"]  # module fixtures shared with the other Qwen-VL tests


def test_a_qwen2_5_tower_is_refused_before_the_model_loads(dirs, qwen25_dirs, mcq, tmp_path):
    with pytest.raises(EncoderCheckpointError, match="Qwen2.5-VL ViT checkpoint .*qwen3_vl swaps only qwen3_vit"):
        check_encoder_family("qwen3_vl", str(qwen25_dirs[1]))
    with pytest.raises(EncoderCheckpointError, match=r"Qwen3-VL ViT checkpoint .*First keys: (model\.)?visual\."):
        check_encoder_family("qwen2_5_vl", str(dirs[1]))
    res = run(dirs[0], mcq, tmp_path / "r", "--encoder", str(qwen25_dirs[1]))
    assert res.exit_code == 2 and res.output.startswith("error: ") and not (tmp_path / "r").exists()


def _tower(**changes) -> dict[str, torch.Tensor]:
    cfg = dict(depth=4, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=16)
    cfg.update({"deepstack_visual_indexes": [1, 2, 3], **changes})
    return Qwen3VLVisionModel(Qwen3VLVisionConfig(**cfg)).state_dict()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"depth": 2, "deepstack_visual_indexes": [0, 1, 1]}, "depth: checkpoint has 2 blocks, tower has 4"),
        ({"deepstack_visual_indexes": [1, 3]}, "DeepStack mergers: checkpoint has 2, tower has 3"),
        ({"num_position_embeddings": 1024}, "position table: checkpoint has 1024 positions, tower has 2304"),
    ],
)
def test_another_geometry_is_refused_and_the_tower_kept(dirs, tmp_path, changes, message):
    adapter = load(dirs[0])
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    save_file({k: v.contiguous() for k, v in _tower(**changes).items()}, tmp_path / "t.safetensors")
    with pytest.raises(EncoderCheckpointError, match=message):
        adapter.swap_encoder(str(tmp_path / "t.safetensors"))
    assert all(torch.equal(v, before[k]) for k, v in adapter.vision_tower.state_dict().items())


@pytest.mark.parametrize("method", ["lorsu", "lora"])
def test_tune_through_the_vlm_objective_then_eval_the_exported_tower(dirs, mcq, tmp_path, method):
    adapter = load(dirs[0])
    tower = VlmTower.of(adapter)
    blocks = tower.blocks()
    assert len(blocks) == 4 and blocks[0].fc1 is adapter.vision_tower.blocks[0].mlp.linear_fc1
    names = [n for n, _ in tower.vision_parameters()]
    assert not [n for n in names if ".merger." in n or "deepstack_merger_list" in n]
    assert any(n.endswith("pos_embed.weight") for n in names) and len(tower.layer_norms()) == 8
    args = ["tune", "--vlm", "qwen3_vl", "--model", str(dirs[0]), "--task", f"mcq_jsonl={mcq}", "--method", method]
    args += ["--out", str(tmp_path / "t"), "--device", "cpu", "--quiet", "--epochs", "1", "--batch-size", "4"]
    res = CliRunner().invoke(app, [*args, "--lr", "1e-2", "--prompt-format", "text"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "t" / "tune.json").read_text())
    ckpt = tmp_path / "t" / "session-1" / record["sessions"][0]["files"]["release"]
    before = adapter.vision_tower.state_dict()
    changed = [k for k, v in load_file(str(ckpt)).items() if not torch.equal(v, before[k])]
    assert changed and all(k.startswith("blocks.") for k in changed)
    res = run(dirs[0], mcq, tmp_path / "run", "--limit", "2", "--encoder", str(ckpt))
    assert res.exit_code == 0, res.output
    swap = json.loads((tmp_path / "run" / "results.json").read_text())["encoder"]["swap_report"]
    assert swap["format"] == "hf_qwen3_vit" and swap["tensors_changed"] == len(changed)


def test_objective_and_gradient_equal_plain_forwards(dirs):
    """Right-padded, two image sizes: the loss and its gradient on the tower (through the DeepStack features too)
    are the token-weighted mean of one plain forward per item with `labels`."""
    adapter = load(dirs[0])
    tower = VlmTower.of(adapter)
    params = [p for _, p in tower.vision_parameters()]
    tuned = {id(p) for p in params}
    for p in adapter.model.parameters():
        p.requires_grad_(id(p) in tuned)
    obj = AnswerObjective(adapter)
    images = [random_image(0).resize((224, 224)), random_image(1).resize((100, 30))]
    questions, answers = ["What is shown?", "Is it a dog?"], ["a red circle", "no"]
    ours = obj.loss(tower, (images, questions, answers))
    ours_grads = torch.autograd.grad(ours, params)
    pairs = [obj.tokens(im, q, a) for im, q, a in zip(images, questions, answers)]
    ref = 0.0
    for im, (c, a) in zip(images, pairs):
        x = torch.tensor([c + a])
        labels = torch.tensor([[-100] * len(c) + a])
        out = adapter.model(
            input_ids=x, labels=labels, mm_token_type_ids=token_types(x, 151655), **adapter.image_inputs([im])
        )
        ref = ref + out.loss * len(a)
    ref = ref / sum(len(a) for _, a in pairs)
    ref_grads = torch.autograd.grad(ref, params)
    assert abs(ours.item() - ref.item()) < 1e-5 and any(g.abs().max() > 0 for g in ours_grads)
    assert all(torch.allclose(g, r, atol=1e-6, rtol=1e-4) for g, r in zip(ours_grads, ref_grads))

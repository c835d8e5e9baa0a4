"""Qwen2.5-VL's ViT through the VLM objective on its real-geometry model: `VlmTower` finds its blocks (fused qkv,
gated MLP) and leaves the patch merger (the projector) frozen; the batched answer loss and its gradient equal plain
forwards with the model's own M-RoPE positions over images of several sizes; `harness tune --vlm qwen2_5_vl`
exports a tower that `harness eval --encoder` swaps back, and every tower method changes only tower blocks."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from harness.adapters.mrope import token_types
from harness.cli import app
from harness.tasks.toy_world import ToyWorldTask
from harness.tune.config import TuneConfig
from harness.tune.run import tune
from harness.tune.vlm_data import question_answers
from harness.tune.vlm_model import VlmTower
from harness.tune.vlm_objective import AnswerObjective
from harness.tune.vlm_target import VlmTarget
from tests.conftest import random_image
from tests.harness.adapters.test_qwen2_5_vl_eval import dirs, load, mcq

__all__ = ["dirs", "mcq"]  # module fixtures shared with the eval tests
SIZES = [(224, 224), (100, 30), (84, 140)]


def test_the_tower_exposes_its_blocks_and_keeps_the_merger_frozen(dirs):
    adapter = load(dirs[0])
    tower = VlmTower.of(adapter)
    visual = adapter.vision_tower
    assert tower.describe() | {"spec": ""} == {
        "family": "hf_qwen", "spec": "", "tower": "Qwen2_5_VisionTransformerPretrainedModel", "vision_layers": 4,
        "blocks_read": 4, "vision_width": 32, "vision_heads": 2,
    }  # fmt: skip
    for i, b in enumerate(tower.blocks()):
        layer = visual.blocks[i]
        assert b.fused and b.qkv_tensors()[0] is layer.attn.qkv.weight and b.qkv_bias == [(layer.attn.qkv, "bias")]
        assert (b.fc1, b.fc2, b.out_proj) == (layer.mlp.gate_proj, layer.mlp.down_proj, layer.attn.proj)
    names = [n for n, _ in tower.vision_parameters()]
    assert names and all(n.startswith("model.visual.") for n in names)
    assert not [n for n in names if ".merger." in n] and any(".patch_embed." in n for n in names)
    assert len(tower.layer_norms()) == 8 and tower.fixed_masks() == {}  # norm1/norm2 of 4 blocks; full qkv bias


def test_objective_and_gradient_equal_plain_forwards(dirs):
    """Right-padded, three image sizes in one batch: the loss is the token-weighted mean of one plain forward per
    item (`labels`, positions from the token types), and so is its gradient on the tower."""
    adapter = load(dirs[0])
    tower = VlmTower.of(adapter)
    params = [p for _, p in tower.vision_parameters()]
    for p in adapter.model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    obj = AnswerObjective(adapter)
    images = [random_image(i).resize(s) for i, s in enumerate(SIZES)]
    questions, answers = ["What is shown?", "Which colour is it?", "Is it a dog?"], ["A", "a red circle", "no"]
    ours = obj.loss(tower, (images, questions, answers))
    ours_grads = torch.autograd.grad(ours, params)
    pairs = [obj.tokens(im, q, a) for im, q, a in zip(images, questions, answers)]
    ref = 0.0
    for im, (c, a) in zip(images, pairs):
        x = torch.tensor([c + a])
        labels = torch.tensor([[-100] * len(c) + a])
        inputs = adapter.image_inputs([im])
        out = adapter.model(input_ids=x, labels=labels, mm_token_type_ids=token_types(x, 151655), **inputs)
        ref = ref + out.loss * len(a)
    ref = ref / sum(len(a) for _, a in pairs)
    ref_grads = torch.autograd.grad(ref, params)
    assert abs(ours.item() - ref.item()) < 1e-5
    assert any(g.abs().max() > 0 for g in ours_grads)
    assert all(torch.allclose(g, r, atol=1e-6, rtol=1e-4) for g, r in zip(ours_grads, ref_grads))


def test_harness_tune_then_eval_the_exported_tower(dirs, mcq, tmp_path):
    env = {"COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    args = ["tune", "--vlm", "qwen2_5_vl", "--model", str(dirs[0]), "--task", f"mcq_jsonl={mcq}", "--method", "lorsu"]
    args += ["--out", str(tmp_path / "t"), "--device", "cpu", "--quiet", "--epochs", "1", "--batch-size", "4"]
    res = CliRunner().invoke(app, [*args, "--lr", "1e-2", "--prompt-format", "text"], env=env)
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "t" / "tune.json").read_text())
    assert record["objective"] == "vlm_answer_cross_entropy" and record["cost"]["flops_per_step"] > 0
    ckpt = tmp_path / "t" / "session-1" / record["sessions"][0]["files"]["release"]
    before = load(dirs[0]).vision_tower.state_dict()
    changed = [k for k, v in load_file(str(ckpt)).items() if not torch.equal(v, before[k])]
    assert changed and all(k.startswith("blocks.") for k in changed)
    args = ["eval", "--vlm", "qwen2_5_vl", "--tasks", f"mcq_jsonl={mcq}", "--model", str(dirs[0]), "--device", "cpu"]
    res = CliRunner().invoke(app, [*args, "--encoder", str(ckpt), "--out", str(tmp_path / "run"), "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["encoder"]["swap_report"]["format"] == "hf_qwen_vit"
    assert results["encoder"]["swap_report"]["tensors_changed"] == len(changed)
    assert results["encoder_meta"]["method"] == "lorsu"


@pytest.mark.parametrize("method", ["lora", "spu", "ln", "fft"])
def test_every_tower_method_changes_tower_blocks_only(dirs, method, tmp_path):
    adapter = load(dirs[0])
    tower_ids = {id(p) for p in adapter.vision_tower.parameters()}
    frozen = {n: p.detach().clone() for n, p in adapter.model.named_parameters() if id(p) not in tower_ids}
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    data = question_answers(ToyWorldTask("target", "train", size=16), "qwen2_5_vl", "official")
    cfg = TuneConfig(method=method, objective="vlm", epochs=1, lr=1e-2, batch_size=8, importance_samples=16)
    record = tune(VlmTarget(adapter), data, cfg, tmp_path, task="toy", progress=False)
    exported = load_file(str(tmp_path / "session-1" / record["sessions"][0]["files"]["release"]))
    changed = {k for k in before if not torch.equal(before[k], exported[k])}
    assert changed and not [k for k in changed if k.startswith("merger.")]
    assert all(torch.equal(p, frozen[n]) for n, p in adapter.model.named_parameters() if n in frozen)
    if method == "ln":
        assert changed == {f"blocks.{i}.norm{j}.weight" for i in range(4) for j in (1, 2)}
    if method == "spu":
        assert {k.rsplit(".", 2)[-2] for k in changed} == {"gate_proj"}

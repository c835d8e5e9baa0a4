"""Tuning Gemma 4's vision tower through the VLM objective on the real-geometry model: the batched answer loss equals
a plain transformers forward with labels (1e-5) and its tower gradient equals autograd through it (images of two
sizes in one batch); a LoRSU session changes only the tower and exports it in its own names, which swap back."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from harness.tasks.toy_world import ToyWorldTask
from harness.tune.config import TuneConfig
from harness.tune.run import tune
from harness.tune.vlm_data import question_answers
from harness.tune.vlm_model import VlmTower
from harness.tune.vlm_objective import AnswerObjective
from harness.tune.vlm_target import VlmTarget
from tests.conftest import random_image
from tests.harness.adapters.test_gemma4_fixtures import gemma4_dir, gemma4_tok  # noqa: F401


def load(path):
    from harness.adapters.gemma4 import Gemma4Adapter

    return Gemma4Adapter.load(str(path), dtype="float32", device="cpu")


def plain_answer_loss(adapter, image, ids: list[int], n_context: int) -> torch.Tensor:
    x = torch.tensor([ids])
    labels = torch.tensor([[-100] * n_context + ids[n_context:]])
    mm = (x == adapter.image_token_id).long()
    return adapter.model(input_ids=x, attention_mask=torch.ones_like(x), labels=labels, mm_token_type_ids=mm,
                         **adapter.image_inputs([image])).loss  # fmt: skip


def test_the_objective_and_its_gradient_equal_a_plain_forward(gemma4_dir):  # noqa: F811
    adapter = load(gemma4_dir)
    tower = VlmTower.of(adapter)
    assert tower.family == "hf_gemma4" and tower.read == 2 and len(tower.blocks()) == 2
    assert tower.blocks()[0].heads == 2 and tower.blocks()[0].width == 32
    params = [p for _, p in tower.vision_parameters()]
    assert len(params) == sum(1 for _ in adapter.vision_tower.parameters())
    for p in adapter.model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    obj = AnswerObjective(adapter)
    images = [random_image(i).resize(s) for i, s in enumerate([(224, 224), (1024, 200)])]
    questions, answers = ["What is shown?", "Which colour?"], ["A", "a red circle"]
    ours = obj.loss(tower, (images, questions, answers))
    ours_grads = torch.autograd.grad(ours, params, allow_unused=True)
    pairs = [obj.tokens(im, q, a) for im, q, a in zip(images, questions, answers)]
    n = sum(len(a) for _, a in pairs)
    ref = sum(plain_answer_loss(adapter, im, c + a, len(c)) * len(a) for im, (c, a) in zip(images, pairs)) / n
    ref_grads = torch.autograd.grad(ref, params, allow_unused=True)
    assert abs(ours.item() - ref.item()) < 1e-5
    assert any(g is not None and g.abs().max() > 0 for g in ours_grads)
    for g, r in zip(ours_grads, ref_grads):
        assert (g is None) == (r is None)
        if g is not None:
            # fp32 sums over 2,520 patches per image: 1e-5 absolute on gradients of order 0.1
            assert torch.allclose(g, r, atol=1e-5, rtol=1e-4), float((g - r).abs().max())


@pytest.mark.parametrize("method", ["lorsu", "lora"])
def test_a_session_exports_a_tower_that_swaps_back(gemma4_dir, tmp_path, method):  # noqa: F811
    adapter = load(gemma4_dir)
    before = {k: v.clone() for k, v in adapter.model.state_dict().items()}
    task = ToyWorldTask("target", "train", size=4)
    data = question_answers(task, "gemma4", "official")
    cfg = TuneConfig(method=method, objective="vlm", epochs=1, lr=1e-2, batch_size=4, rank=4, top_k_heads=1,
                     importance_samples=4)  # fmt: skip
    target = VlmTarget(adapter)
    target.check(data)
    record = tune(target, data, cfg, tmp_path / "o", task="toy", progress=False)
    path = tmp_path / "o" / "session-1" / record["sessions"][0]["files"]["release"]
    exported = load_file(str(path))
    # the merged tower (LoRA's modules stay wrapped in memory between sessions; its export is merged)
    after = {**adapter.model.state_dict(), **{f"model.vision_tower.{k}": v for k, v in exported.items()}}
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("model.vision_tower.encoder.layers.") for k in changed), sorted(changed)[:5]
    if method == "lora":  # only the targeted projections' weights
        assert all(k.endswith("_proj.linear.weight") for k in changed), sorted(changed)[:5]
    fresh = load(gemma4_dir)
    report = fresh.swap_encoder(str(path))
    assert report.format == "hf_gemma4_vision" and report.tensors_changed > 0
    assert all(torch.equal(v, exported[k]) for k, v in fresh.vision_tower.state_dict().items())

"""The VLM objective on every family, tiny and real-geometry: the batched, right-padded answer loss equals the
token-weighted mean of one plain transformers forward per item with `labels` (1e-5, fp32), and its gradient on the
vision tower equals autograd through those plain forwards; the tower is the only part that may get a gradient."""

from __future__ import annotations

import pytest
import torch

from harness.errors import InvalidInput
from harness.tune.vlm_model import VlmTower
from harness.tune.vlm_objective import AnswerObjective
from tests.conftest import random_image
from tests.harness.tune.vlm_fixtures import FAMILIES, plain_answer_loss

QUESTIONS = ("What is shown?", "Which colour is the large shape on the left?", "Is it a dog?")
ANSWERS = ("A", "a red circle with a dot", "no")
SIZES = {"llava_next": [(64, 32), (40, 40), (32, 64)], "llava_onevision": [(64, 32), (40, 40), (32, 64)]}
REAL_SIZES = {
    "llava_next": [(500, 375), (336, 336), (300, 500)],
    "llava_onevision": [(200, 150), (384, 384), (150, 200)],
}


def _batch(family: str, sizes: dict) -> tuple[list, list[str], list[str]]:
    dims = sizes.get(family, [(40, 40)] * 3)
    return [random_image(i).resize(d) for i, d in enumerate(dims)], list(QUESTIONS), list(ANSWERS)


def _check(adapter, sizes: dict) -> None:
    tower = VlmTower.of(adapter)
    params = [p for _, p in tower.vision_parameters()]
    for p in adapter.model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    obj = AnswerObjective(adapter)
    images, questions, answers = _batch(adapter.family, sizes)
    ours = obj.loss(tower, (images, questions, answers))
    ours_grads = torch.autograd.grad(ours, params, allow_unused=True)
    ours = ours.detach()
    pairs = [obj.tokens(im, q, a) for im, q, a in zip(images, questions, answers)]
    n = sum(len(a) for _, a in pairs)
    ref = sum(plain_answer_loss(adapter, im, c + a, len(c)) * len(a) for im, (c, a) in zip(images, pairs)) / n
    ref_grads = torch.autograd.grad(ref, params, allow_unused=True)
    ref = ref.detach()
    for p in params:
        p.requires_grad_(False)
    assert abs(ours.item() - ref.item()) < 1e-5, (adapter.family, ours.item(), ref.item())
    assert any(g is not None and g.abs().max() > 0 for g in ours_grads), "no gradient reached the tower"
    for g, r in zip(ours_grads, ref_grads):
        assert (g is None) == (r is None)
        if g is not None:
            assert torch.allclose(g, r, atol=1e-6, rtol=1e-4), (adapter.family, float((g - r).abs().max()))


@pytest.mark.parametrize("family", FAMILIES)
def test_objective_and_gradient_equal_the_plain_forward_on_tiny_models(family, tiny_vlm):
    _check(tiny_vlm(family), SIZES)


@pytest.mark.parametrize("family", FAMILIES)
def test_objective_and_gradient_equal_the_plain_forward_on_real_geometry(family, real_adapter):
    _check(real_adapter(family), REAL_SIZES)


def test_answers_end_with_eos_and_an_empty_answer_is_refused(tiny_vlm):
    adapter = tiny_vlm("llava")
    obj = AnswerObjective(adapter)
    _, ans = obj.tokens(random_image(0), "What is shown?", "A")
    assert ans[-1] == adapter.tokenizer.eos_token_id and len(ans) >= 2
    _, ans = AnswerObjective(adapter, eos=False).tokens(random_image(0), "What is shown?", "A")
    assert adapter.tokenizer.eos_token_id not in ans
    with pytest.raises(InvalidInput, match="empty or tokenizes to nothing"):
        obj.check([("What is shown?", "")])


@pytest.mark.parametrize("family", ["llava", "blip2"])
def test_blocks_the_vlm_never_reads_are_left_out(family, tiny_vlm):
    adapter = tiny_vlm(family)
    tower = VlmTower.of(adapter)
    layers = len(tower.layers)
    feature = getattr(adapter.model.config, "vision_feature_layer", None)
    assert tower.read == (layers - 1 if feature == -2 else layers)
    names = [n for n, _ in tower.vision_parameters()]
    assert not any("post_layernorm" in n for n in names)
    if feature == -2:
        assert not any(f"layers.{layers - 1}." in n for n in names)

"""Hugging Face CLIP names (4.x / 5.x, CLIPModel / vision models / LLaVA) -> CLIPVisionModel names."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.checkpoints import detect_format
from harness.adapters.checkpoints.hf_clip import hf_to_tower, is_unused

TOWER_KEYS = [
    "embeddings.class_embedding",
    "embeddings.patch_embedding.weight",
    "embeddings.position_embedding.weight",
    "pre_layrnorm.weight",
    "encoder.layers.0.self_attn.q_proj.weight",
    "encoder.layers.0.mlp.fc2.bias",
    "post_layernorm.bias",
]


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "vision_model.",
        "model.vision_tower.",
        "vision_tower.vision_model.",
        "model.vision_tower.vision_tower.vision_model.",
    ],
)
def test_prefix_stripped_tensors_unchanged(prefix):
    sd = {prefix + k: torch.randn(2) for k in TOWER_KEYS}
    out = hf_to_tower(sd)
    assert list(out) == TOWER_KEYS
    assert all(out[k] is sd[prefix + k] for k in TOWER_KEYS)
    assert detect_format(sd).name == "hf_clip"


def test_clip_model_extras_are_unused():
    for key in [
        "text_model.encoder.layers.0.mlp.fc1.weight",
        "text_projection.weight",
        "visual_projection.weight",
        "logit_scale",
        "vision_model.embeddings.position_ids",
        "model.language_model.layers.0.self_attn.q_proj.weight",
        "lm_head.weight",
        "multi_modal_projector.linear_1.weight",
        "model.multi_modal_projector.linear_2.bias",
    ]:
        assert is_unused(key), key
    for key in [
        "vision_model.encoder.layers.0.mlp.fc1.weight",
        "post_layernorm.weight",
        "model.vision_tower.embeddings.class_embedding",
    ]:
        assert not is_unused(key), key


def test_two_keys_for_one_tower_name_is_an_error():
    with pytest.raises(ValueError, match="pre_layrnorm.weight"):
        hf_to_tower({"pre_layrnorm.weight": torch.ones(1), "vision_model.pre_layrnorm.weight": torch.ones(1)})


def test_text_model_alone_is_not_detected():
    assert detect_format({"text_model.encoder.layers.0.self_attn.q_proj.weight": torch.ones(1)}) is None

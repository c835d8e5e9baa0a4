"""EVA-CLIP family checkpoints are recognised and refused by the LLaVA CLIP tower."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from harness.adapters.checkpoints import EncoderCheckpointError, detect_format, swap_encoder

EVA_LAYOUTS = {
    "eva_clip": [
        "visual.cls_token",
        "visual.pos_embed",
        "visual.patch_embed.proj.weight",
        "visual.blocks.0.attn.q_proj.weight",
        "visual.blocks.0.attn.q_bias",
        "visual.rope.freqs_cos",
    ],
    "timm_trunk": [
        "visual.trunk.cls_token",
        "visual.trunk.blocks.0.attn.qkv.weight",
        "visual.trunk.blocks.0.norm1.weight",
        "visual.head.proj.weight",
    ],
    "lavis_eva_vit_g": [
        "visual_encoder.cls_token",
        "visual_encoder.patch_embed.proj.weight",
        "visual_encoder.blocks.0.attn.qkv.weight",
        "visual_encoder.blocks.0.attn.v_bias",
        "ln_vision.weight",
    ],
    "bare_blocks": ["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight"],
}


@pytest.mark.parametrize("layout", sorted(EVA_LAYOUTS))
def test_eva_layouts_detected_and_refused(layout, kit, tmp_path):
    sd = {k: torch.randn(4, 4) for k in EVA_LAYOUTS[layout]}
    assert detect_format(sd).name == "eva_clip"
    path = tmp_path / f"{layout}.safetensors"
    save_file(sd, path)
    tower = kit.make_tower()
    before = kit.snapshot(tower)
    with pytest.raises(EncoderCheckpointError) as err:
        swap_encoder(tower, path)
    msg = str(err.value)
    assert "this is an EVA-CLIP checkpoint; the LLaVA tower is a CLIP ViT" in msg
    assert str(path) in msg and "nothing was loaded" in msg and err.value.format == "eva_clip"
    kit.assert_identical(tower, before)


def test_clip_layouts_are_not_eva(kit):
    assert detect_format(kit.vit_sd("visual.")).name != "eva_clip"
    assert detect_format(kit.make_tower().state_dict()).name == "hf_clip"

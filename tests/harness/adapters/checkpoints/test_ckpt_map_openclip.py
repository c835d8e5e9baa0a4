"""open_clip `visual.*` names -> CLIPVisionModel names (pure mapping, on a hand-made state dict)."""

from __future__ import annotations

import torch

from harness.adapters.checkpoints import detect_format
from harness.adapters.checkpoints.openclip import is_unused, map_vit_names, open_clip_to_tower


def test_open_clip_mapping_exact_names_and_chunks(kit):
    sd = kit.vit_sd("visual.")
    kit.check_vit_mapping(sd, "visual.", open_clip_to_tower(sd))


def test_unknown_keys_come_back_unchanged():
    sd = {"visual.transformer.resblocks.0.ls_1.gamma": torch.ones(4), "visual.attn_pool.q": torch.ones(4)}
    sd["visual.transformer.resblocks.0.attn.in_proj_weight"] = torch.ones(5, 4)  # not 3 parts
    sd["transformer.resblocks.0.ln_1.weight"] = torch.ones(4)  # outside the prefix
    out = map_vit_names(sd, "visual.")
    assert set(out) == set(sd) and all(out[k] is sd[k] for k in sd)


def test_unused_keys_are_head_and_text_tower():
    assert is_unused("visual.proj") and is_unused("token_embedding.weight")
    assert is_unused("transformer.resblocks.0.ln_1.weight") and is_unused("logit_scale")
    assert is_unused("positional_embedding") and is_unused("ln_final.weight")
    assert not is_unused("visual.positional_embedding") and not is_unused("visual.ln_post.weight")


def test_detected_as_open_clip(kit):
    sd = kit.vit_sd("visual.")
    sd["token_embedding.weight"] = torch.ones(1)
    assert detect_format(sd).name == "open_clip"

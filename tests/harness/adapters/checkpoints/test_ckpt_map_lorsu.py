"""LoRSU release format (open_clip visual names, no prefix) -> CLIPVisionModel names."""

from __future__ import annotations

import torch

from harness.adapters.checkpoints import detect_format
from harness.adapters.checkpoints.lorsu import is_unused, lorsu_to_tower


def test_lorsu_mapping_exact_names_and_chunks(kit):
    sd = kit.vit_sd("")
    sd["conv1.weight"] = sd["conv1.weight"].half()  # LoRSU mixes fp16 and fp32
    out = lorsu_to_tower(sd)
    kit.check_vit_mapping(sd, "", out)
    assert out["embeddings.patch_embedding.weight"].dtype == torch.float16  # cast happens at load


def test_lorsu_detection_and_unused(kit):
    sd = kit.vit_sd("")
    sd["proj"] = torch.ones(4, 2)
    assert detect_format(sd).name == "lorsu"
    assert is_unused("proj") and not is_unused("ln_post.weight")


def test_text_tower_alone_is_not_lorsu():
    sd = {"transformer.resblocks.0.ln_1.weight": torch.ones(4), "token_embedding.weight": torch.ones(2)}
    assert detect_format(sd) is None

"""OpenAI CLIP names -> CLIPVisionModel names, and telling OpenAI files from open_clip ones."""

from __future__ import annotations

import torch

from harness.adapters.checkpoints import detect_format
from harness.adapters.checkpoints.openai_clip import detect, is_unused, openai_to_tower


def _openai_sd(kit) -> dict[str, torch.Tensor]:
    sd = kit.vit_sd("visual.")
    sd.update(
        {
            "visual.proj": torch.ones(4, 2),
            "transformer.resblocks.0.attn.in_proj_weight": torch.ones(6, 2),
            "token_embedding.weight": torch.ones(5, 2),
            "ln_final.weight": torch.ones(2),
            "text_projection": torch.ones(2, 2),
            "logit_scale": torch.tensor(1.0),
            "positional_embedding": torch.ones(3, 2),
            "input_resolution": torch.tensor(224),
            "context_length": torch.tensor(77),
            "vocab_size": torch.tensor(49408),
        }
    )
    return sd


def test_openai_mapping_exact_names_and_chunks(kit):
    sd = _openai_sd(kit)
    used = {k: v for k, v in sd.items() if not is_unused(k)}
    assert set(sd) - set(used) == {
        "visual.proj",
        "transformer.resblocks.0.attn.in_proj_weight",
        "token_embedding.weight",
        "ln_final.weight",
        "text_projection",
        "logit_scale",
        "positional_embedding",
        "input_resolution",
        "context_length",
        "vocab_size",
    }
    kit.check_vit_mapping(sd, "visual.", openai_to_tower(used))


def test_openai_detected_by_metadata_or_torchscript(kit):
    sd = _openai_sd(kit)
    assert detect_format(sd).name == "openai_clip"
    plain = {k: v for k, v in sd.items() if k not in ("input_resolution", "context_length", "vocab_size")}
    assert detect_format(plain).name == "open_clip"  # same names: only the origin tells them apart
    assert detect_format(plain, torchscript=True).name == "openai_clip"
    assert not detect({"input_resolution": torch.tensor(1)}, True)  # needs a visual tower

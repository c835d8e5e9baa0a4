"""EVA ViT-g in transformers `Blip2VisionModel` names (the tower of a tuned BLIP-2 / InstructBLIP / MiniGPT-v2, or a
tower `harness tune --vlm` exported): `embeddings.*`, `encoder.layers.N.self_attn.qkv.*`, `post_layernorm.*`.

Whole checkpoints hold the tower under `vision_model.` (BLIP-2, InstructBLIP) or `visual_encoder.` (MiniGPT-v2);
the prefix is stripped, everything else is the tower's own name. The Q-Former, projections and language model
are known to be unused.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from harness.errors import InvalidInput

from .kinds import CheckpointFormat

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

PREFIXES = ("model.vision_model.", "vision_model.", "visual_encoder.")
UNUSED_PREFIXES = (
    "qformer.",
    "query_tokens",
    "language_projection.",
    "language_model.",
    "llama_proj.",
    "llama_model.",
    "model.qformer.",
    "model.query_tokens",
    "model.language_projection.",
    "model.language_model.",
    "lm_head.",
)
_QKV = re.compile(r"^encoder\.layers\.\d+\.self_attn\.qkv\.weight$")


def strip_prefix(key: str) -> str:
    return next((key[len(p) :] for p in PREFIXES if key.startswith(p)), key)


def hf_eva_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the model prefix; tensors unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        name = strip_prefix(key)
        if name in out:
            raise InvalidInput(f"two checkpoint tensors map to {name!r}")
        out[name] = value
    return out


def is_unused(key: str) -> bool:
    return key.startswith(UNUSED_PREFIXES)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    return any(_QKV.match(strip_prefix(k)) for k in keys)


FORMAT = CheckpointFormat(
    name="hf_eva",
    description="EVA ViT-g in transformers Blip2VisionModel names (encoder.layers.N.self_attn.qkv)",
    family="eva_vit",
    family_title="an EVA ViT-g",
    detect=detect,
    convert=hf_eva_to_tower,
    unused=is_unused,
)

"""Hugging Face CLIP checkpoints (CLIPModel, CLIPVisionModel, CLIPVisionModelWithProjection) -> tower.

transformers 5.x `CLIPVisionModel` names have no prefix; `CLIPModel`/`...WithProjection` and every
4.x model put the tower under `vision_model.`. Whole LLaVA checkpoints hold it under
`model.vision_tower.` (5.x), `vision_tower.vision_model.` (4.x) or, in the original LLaVA code,
`model.vision_tower.vision_tower.vision_model.`. Text tower, projections and the language model
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

# Longest first: the first matching prefix is stripped.
TOWER_PREFIXES = (
    "model.vision_tower.vision_tower.vision_model.",
    "model.vision_tower.vision_model.",
    "vision_tower.vision_model.",
    "model.vision_tower.",
    "vision_tower.",
    "vision_model.",
)
# Parts of CLIP / LLaVA checkpoints that are not the vision tower.
UNUSED_PREFIXES = (
    "text_model.",
    "text_projection.",
    "visual_projection.",
    "language_model.",
    "multi_modal_projector.",
    "lm_head.",
    "model.language_model.",
    "model.multi_modal_projector.",
    "model.mm_projector.",
    "model.embed_tokens.",
    "model.layers.",
    "model.norm.",
)
UNUSED_KEYS = ("logit_scale", "text_projection", "visual_projection")
# Old transformers versions saved this buffer; it is recomputed, never loaded.
_POSITION_IDS = "embeddings.position_ids"
_TOWER_NAME = re.compile(r"^(embeddings\.patch_embedding\.weight|encoder\.layers\.\d+\.self_attn\.)")


def strip_tower_prefix(key: str) -> str:
    for prefix in TOWER_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def hf_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the model-specific prefix so keys are 5.x CLIPVisionModel names; tensors unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        name = strip_tower_prefix(key)
        if name in out:
            raise InvalidInput(f"two checkpoint tensors map to {name!r}")
        out[name] = value
    return out


def is_unused(key: str) -> bool:
    if key in UNUSED_KEYS or key.startswith(UNUSED_PREFIXES):
        return True
    return strip_tower_prefix(key) == _POSITION_IDS


def detect(keys: Collection[str], torchscript: bool) -> bool:
    return any(_TOWER_NAME.match(strip_tower_prefix(k)) for k in keys)


FORMAT = CheckpointFormat(
    name="hf_clip",
    description="Hugging Face CLIP (CLIPModel / CLIPVisionModel[WithProjection], 4.x or 5.x names)",
    family="clip_vit",
    family_title="a CLIP ViT",
    detect=detect,
    convert=hf_to_tower,
    unused=is_unused,
)

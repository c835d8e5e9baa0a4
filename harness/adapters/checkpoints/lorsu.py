"""The LoRSU release format -> transformers CLIP tower.

LoRSU publishes `torch.save({"epoch": E, "state_dict": model.visual.state_dict()})`: open_clip
vision-tower names WITHOUT the `visual.` prefix (`conv1.weight`, `transformer.resblocks.N...`),
with a mix of fp16 and fp32 tensors (cast to the tower's dtype when loaded). The reader unwraps the
container; a bare `model.visual.state_dict()` is recognised the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from .kinds import CheckpointFormat
from .openclip import map_vit_names

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch


def lorsu_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """open_clip visual-tower names (no prefix) -> CLIPVisionModel names."""
    return map_vit_names(sd, "")


def is_unused(key: str) -> bool:
    """`proj` is the CLIP image head; LLaVA reads hidden states before it."""
    return key in ("proj", "attn_mask")


def detect(keys: Collection[str], torchscript: bool) -> bool:
    if any(k.startswith("visual.") for k in keys):
        return False
    vision_marker = "conv1.weight" in keys or "class_embedding" in keys
    return vision_marker and any(k.startswith("transformer.resblocks.") for k in keys)


FORMAT = CheckpointFormat(
    name="lorsu",
    description="LoRSU release / open_clip model.visual state dict (no 'visual.' prefix)",
    family="clip_vit",
    family_title="a CLIP ViT",
    detect=detect,
    convert=lorsu_to_tower,
    unused=is_unused,
)

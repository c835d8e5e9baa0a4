"""OpenAI CLIP `.pt` files (TorchScript archive as released, or a plain state dict) -> CLIP tower.

OpenAI's names are the ones open_clip copied (`visual.conv1.weight`, `visual.transformer.
resblocks.N...`, text tower at top level). The two are told apart by origin: an OpenAI file is a
TorchScript archive, or carries OpenAI's scalar entries `input_resolution`, `context_length`,
`vocab_size`; a plain state dict without them is indistinguishable from open_clip's and is
reported as `open_clip` (the conversion is the same).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from . import openclip
from .kinds import CheckpointFormat

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

OPENAI_META_KEYS = ("input_resolution", "context_length", "vocab_size")


def openai_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenAI CLIP state dict (vision keys under `visual.`) -> CLIPVisionModel names."""
    return openclip.map_vit_names(sd, "visual.")


def is_unused(key: str) -> bool:
    """OpenAI's scalar metadata, `visual.proj` and the text tower."""
    return key in OPENAI_META_KEYS or openclip.is_unused(key)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    if not any(k.startswith("visual.transformer.resblocks.") for k in keys):
        return False
    return torchscript or any(k in keys for k in OPENAI_META_KEYS)


FORMAT = CheckpointFormat(
    name="openai_clip",
    description="OpenAI CLIP .pt (TorchScript archive or state dict with OpenAI metadata)",
    family="clip_vit",
    family_title="a CLIP ViT",
    detect=detect,
    convert=openai_to_tower,
    unused=is_unused,
)

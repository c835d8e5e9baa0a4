"""open_clip full-model state dicts (`visual.` prefix, OpenAI ViT naming) -> transformers CLIP tower.

Also holds the shared renaming of OpenAI-style ViT names, used by the LoRSU and OpenAI formats.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from harness.errors import InvalidInput

from .kinds import CheckpointFormat

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

_BLOCK = re.compile(r"^transformer\.resblocks\.(\d+)\.(.+)$")
# open_clip name -> tower name (also read, reversed, by harness.clip.keymap)
TOP_LEVEL_NAMES = {
    "class_embedding": "embeddings.class_embedding",
    "positional_embedding": "embeddings.position_embedding.weight",
    "conv1.weight": "embeddings.patch_embedding.weight",
    "ln_pre.weight": "pre_layrnorm.weight",
    "ln_pre.bias": "pre_layrnorm.bias",
    "ln_post.weight": "post_layernorm.weight",
    "ln_post.bias": "post_layernorm.bias",
}
BLOCK_NAMES = {
    "ln_1.weight": "layer_norm1.weight",
    "ln_1.bias": "layer_norm1.bias",
    "ln_2.weight": "layer_norm2.weight",
    "ln_2.bias": "layer_norm2.bias",
    "attn.out_proj.weight": "self_attn.out_proj.weight",
    "attn.out_proj.bias": "self_attn.out_proj.bias",
    "mlp.c_fc.weight": "mlp.fc1.weight",
    "mlp.c_fc.bias": "mlp.fc1.bias",
    "mlp.c_proj.weight": "mlp.fc2.weight",
    "mlp.c_proj.bias": "mlp.fc2.bias",
}
_FUSED = {"attn.in_proj_weight": "weight", "attn.in_proj_bias": "bias"}

# Top-level keys of the CLIP text tower and heads (open_clip and OpenAI share these names).
TEXT_TOWER_KEYS = ("positional_embedding", "text_projection", "logit_scale", "logit_bias", "attn_mask")
TEXT_TOWER_PREFIXES = ("transformer.", "token_embedding.", "ln_final.", "text.")


def map_vit_names(sd: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Rename OpenAI-style ViT keys that start with `prefix` to transformers CLIPVisionModel names.

    The fused attention input projection (rows ordered q, k, v) is split into three views with
    `chunk(3)`. Keys without `prefix` or with unknown names are returned unchanged.
    """
    out: dict[str, torch.Tensor] = {}

    def put(name: str, value: torch.Tensor) -> None:
        if name in out:
            raise InvalidInput(f"two checkpoint tensors map to {name!r}")
        out[name] = value

    for key, value in sd.items():
        if not key.startswith(prefix):
            put(key, value)
            continue
        name = key[len(prefix) :]
        if name in TOP_LEVEL_NAMES:
            put(TOP_LEVEL_NAMES[name], value)
            continue
        m = _BLOCK.match(name)
        if m is None:
            put(key, value)
            continue
        layer, rest = m.groups()
        base = f"encoder.layers.{layer}."
        if rest in BLOCK_NAMES:
            put(base + BLOCK_NAMES[rest], value)
        elif rest in _FUSED and value.shape[0] % 3 == 0:
            for proj, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                put(f"{base}self_attn.{proj}.{_FUSED[rest]}", part)
        else:
            put(key, value)
    return out


def open_clip_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """open_clip `CLIP.state_dict()` (vision keys under `visual.`) -> CLIPVisionModel names."""
    return map_vit_names(sd, "visual.")


def is_unused(key: str) -> bool:
    """`visual.proj` (the CLIP head, not used by LLaVA) and the whole text tower."""
    return key in ("visual.proj", "visual.attn_mask") or key in TEXT_TOWER_KEYS or key.startswith(TEXT_TOWER_PREFIXES)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    return any(k.startswith("visual.transformer.resblocks.") for k in keys)


FORMAT = CheckpointFormat(
    name="open_clip",
    description="open_clip CLIP state dict (visual.* with OpenAI ViT names)",
    family="clip_vit",
    family_title="a CLIP ViT",
    detect=detect,
    convert=open_clip_to_tower,
    unused=is_unused,
)

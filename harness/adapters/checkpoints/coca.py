"""open_clip CoCa checkpoints -> the CoCa vision tower (open_clip `VisionTransformer` with attentional pooling).

A full `CoCa.state_dict()` holds the tower under `visual.` beside the text tower (`text.`), the captioning
decoder (`text_decoder.`) and `logit_scale`; the tune export (`model.visual.state_dict()`) has no prefix. Both
carry `attn_pool.*` (the attentional pooler CLIP's ViT lacks) next to open_clip's `transformer.resblocks.N`
names, which is how they are told apart from CLIP checkpoints. Conversion only strips `visual.`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from harness.errors import InvalidInput

from .kinds import CheckpointFormat

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

PREFIX = "visual."
UNUSED_PREFIXES = ("text.", "text_decoder.")
UNUSED_KEYS = ("logit_scale", "logit_bias")


def tower_name(key: str) -> str:
    return key.removeprefix(PREFIX)


def coca_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`visual.`-prefixed or bare CoCa vision keys -> `CoCa.visual.state_dict()` names; tensors unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        name = tower_name(key)
        if name in out:
            raise InvalidInput(f"two checkpoint tensors map to {name!r}")
        out[name] = value
    return out


def is_unused(key: str) -> bool:
    """The text tower, the captioning decoder and the logit scale."""
    return key in UNUSED_KEYS or key.startswith(UNUSED_PREFIXES)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    names = {tower_name(k) for k in keys}
    pooled = any(n.startswith("attn_pool.") for n in names)
    return pooled and any(n.startswith("transformer.resblocks.") for n in names)


FORMAT = CheckpointFormat(
    name="open_clip_coca",
    description="open_clip CoCa state dict (visual.* or bare model.visual names, with attn_pool.*)",
    family="coca_vit",
    family_title="a CoCa ViT",
    detect=detect,
    convert=coca_to_tower,
    unused=is_unused,
)

"""FLAVA checkpoints (transformers `FlavaModel`, `FlavaForPreTraining`, the tune export) -> the FLAVA image tower.

The tower is FLAVA's image encoder plus its contrastive image projection, in `FlavaModel` names:
`image_model.*` (a ViT: `encoder.layer.N.attention.attention.{query,key,value}`, `attention.output.dense`,
`intermediate.dense`, `output.dense`, `layernorm_before/after`) and `image_projection.*`. `FlavaForPreTraining`
puts the same names under `flava.`. The text and multimodal encoders, their projections, the logit scale and the
pre-training heads are known to be unused. The `image_model.` prefix is required: bare names are HF ViT's too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from harness.errors import InvalidInput

from .kinds import CheckpointFormat

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

WRAPPER = "flava."
# FlavaForPreTraining's parts beside its `flava.` model (facebook/flava-full is saved so)
PRETRAINING_PREFIXES = ("image_codebook.", "mim_head.", "mlm_head.", "itm_head.", "mmm_image_head.", "mmm_text_head.")
UNUSED_PREFIXES = (
    "text_model.",
    "multimodal_model.",
    "text_projection.",
    "image_to_mm_projection.",
    "text_to_mm_projection.",
    *PRETRAINING_PREFIXES,
)
UNUSED_KEYS = ("logit_scale",)
ATTENTION = re.compile(r"^image_model\.encoder\.layer\.\d+\.attention\.attention\.(query|key|value)\.weight$")


def tower_name(key: str) -> str:
    return key.removeprefix(WRAPPER)


def flava_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`FlavaForPreTraining` (`flava.`) or `FlavaModel` names -> tower names; tensors unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        name = tower_name(key)
        if name in out:
            raise InvalidInput(f"two checkpoint tensors map to {name!r}")
        out[name] = value
    return out


def is_unused(key: str) -> bool:
    name = tower_name(key)
    return name in UNUSED_KEYS or name.startswith(UNUSED_PREFIXES)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    return any(ATTENTION.match(tower_name(k)) for k in keys)


FORMAT = CheckpointFormat(
    name="hf_flava",
    description="Hugging Face FLAVA (FlavaModel / FlavaForPreTraining, image_model.* + image_projection.*)",
    family="flava_vit",
    family_title="a FLAVA ViT",
    detect=detect,
    convert=flava_to_tower,
    unused=is_unused,
)

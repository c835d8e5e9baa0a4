"""Hugging Face SigLIP checkpoints (SiglipModel, SiglipVisionModel, whole LLaVA-OneVision) -> SigLIP tower.

Names are transformers' own once the model prefix is stripped (the same prefixes as HF CLIP). Told apart
from CLIP by positive SigLIP markers: the attention-pooling head, `logit_bias`, or a patch embedding with no
CLS embedding and no pre-norm beside it.
"""

from __future__ import annotations

from collections.abc import Collection

from .hf_clip import hf_to_tower, strip_tower_prefix
from .kinds import CheckpointFormat

UNUSED_PREFIXES = (
    "text_model.",
    "language_model.",
    "multi_modal_projector.",
    "lm_head.",
    "model.language_model.",
    "model.multi_modal_projector.",
    "model.embed_tokens.",
    "model.layers.",
    "model.norm.",
)
UNUSED_KEYS = ("logit_scale", "logit_bias", "image_newline", "model.image_newline")


def detect(keys: Collection[str], torchscript: bool) -> bool:
    names = {strip_tower_prefix(k) for k in keys}
    if "embeddings.patch_embedding.weight" not in names and not any(n.startswith("encoder.layers.") for n in names):
        return False
    if "head.probe" in names or "logit_bias" in keys:
        return True
    return (
        "embeddings.patch_embedding.weight" in names
        and "embeddings.class_embedding" not in names
        and not any(n.startswith("pre_layrnorm.") for n in names)
    )


def is_unused(key: str) -> bool:
    return key in UNUSED_KEYS or key.startswith(UNUSED_PREFIXES) or strip_tower_prefix(key) == "embeddings.position_ids"


FORMAT = CheckpointFormat(
    name="hf_siglip",
    description="Hugging Face SigLIP (SiglipModel / SiglipVisionModel / LLaVA-OneVision vision_tower)",
    family="siglip_vit",
    family_title="a SigLIP ViT",
    detect=detect,
    convert=hf_to_tower,
    unused=is_unused,
)

"""Recognises EVA-CLIP family checkpoints (EVA-CLIP, open_clip timm EVA trunks, LAVIS `eva_vit_g`).

These are not CLIP ViTs: fused `attn.qkv` (or separate q/v biases), `patch_embed.proj`,
`cls_token`/`pos_embed`, often rotary embeddings and SwiGLU MLPs. No conversion is registered
here (`convert=None`), so loading one into the LLaVA CLIP tower is refused with a clear message;
a MiniGPT-v2 adapter can register an EVA tower kind and EVA conversions (see `registry`).
"""
from __future__ import annotations

import re
from collections.abc import Collection

from .registry import CheckpointFormat

_EVA_PATTERNS = re.compile(
    r"(^|\.)blocks\.\d+\.attn\.(qkv\.|q_bias|v_bias|inner_attn_ln\.)"
    r"|(^|\.)patch_embed\.proj\.weight$"
    r"|(^|\.)trunk\.blocks\.\d+\."
    r"|(^|\.)rope\.freqs_(cos|sin)$"
)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    return any(_EVA_PATTERNS.search(k) for k in keys)


FORMAT = CheckpointFormat(
    name="eva_clip",
    description="EVA-CLIP family ViT (blocks.N.attn.qkv / patch_embed.proj / visual.trunk.*)",
    family="eva_vit",
    family_title="an EVA-CLIP",
    detect=detect,
    convert=None,
)

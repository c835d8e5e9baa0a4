"""Recognises EVA-CLIP family checkpoints (EVA-CLIP, open_clip timm EVA trunks, LAVIS `eva_vit_g`).

These are not CLIP ViTs: fused `attn.qkv` (or separate q/v biases), `patch_embed.proj`,
`cls_token`/`pos_embed`. They convert (`eva_lavis`) into MiniGPT-v2's EVA ViT-g tower (`eva_tower`);
the family check refuses them for the LLaVA CLIP tower with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from .eva_lavis import eva_to_blip2, is_unused
from .kinds import CheckpointFormat

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
    convert=eva_to_blip2,
    unused=is_unused,
)

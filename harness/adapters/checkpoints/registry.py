"""The format registry: the checkpoint layouts we recognise, in detection order (torch-free, so that
`--encoder` is checked before torch loads). The towers they load into are registered in `towers`; the types
live in `kinds`; a swap is allowed only when the detected format's family equals the tower's family.

To add a tower (e.g. the EVA ViT of MiniGPT-v2), register a `TowerKind` with `family="eva_vit"`
and register conversions with `register_format(..., before="eva_clip")` so they are tried before
the built-in EVA detector, which only recognises EVA checkpoints (its `convert` is None).
"""

from __future__ import annotations

from collections.abc import Collection

from . import (
    coca,
    eva,
    flava,
    hf_clip,
    hf_eva,
    hf_gemma4_vision,
    hf_qwen3_vit,
    hf_qwen_vit,
    hf_siglip,
    lorsu,
    openai_clip,
    openclip,
    timm_siglip,
)
from .kinds import CheckpointFormat

# Detection order matters: HF EVA first (only it has `self_attn.qkv`); timm SigLIP before EVA (both timm trunks;
# SigLIP has no CLS token or q/v biases), EVA next (its keys never overlap CLIP's), OpenAI before open_clip (same
# names, told apart by TorchScript / OpenAI metadata), LoRSU (unprefixed) before HF, HF SigLIP (positive SigLIP
# markers) before HF CLIP.
# FLAVA (its own `image_model.*.attention.attention.*` names) and CoCa (`attn_pool.*` beside open_clip's ViT names)
# come first: a CoCa checkpoint would otherwise be taken for an open_clip / LoRSU CLIP.
# Qwen2.5-VL's ViT (`blocks.N.attn.qkv` with its merger or gated MLP) before EVA, whose LAVIS names it shares.
_FORMATS: list[CheckpointFormat] = [
    hf_gemma4_vision.FORMAT,  # Gemma 4's ViT: only it has patch_embedder.input_proj
    hf_qwen_vit.FORMAT,
    hf_qwen3_vit.FORMAT,  # Qwen3-VL's ViT: blocks.N.attn.qkv with linear_fc1 MLPs and mergers
    flava.FORMAT,
    coca.FORMAT,
    hf_eva.FORMAT,
    timm_siglip.FORMAT,
    eva.FORMAT,
    openai_clip.FORMAT,
    openclip.FORMAT,
    lorsu.FORMAT,
    hf_siglip.FORMAT,
    hf_clip.FORMAT,
]


def register_format(fmt: CheckpointFormat, *, before: str | None = None) -> None:
    """Add a format; with `before`, it is tried ahead of the named format during detection."""
    if any(f.name == fmt.name for f in _FORMATS):
        raise ValueError(f"checkpoint format {fmt.name!r} is already registered")
    names = [f.name for f in _FORMATS]
    _FORMATS.insert(names.index(before) if before in names else len(_FORMATS), fmt)


def formats() -> list[CheckpointFormat]:
    """Registered formats in detection order."""
    return list(_FORMATS)


def detect_format(keys: Collection[str], torchscript: bool = False) -> CheckpointFormat | None:
    """The first registered format that recognises these keys, or None."""
    keys = set(keys)
    return next((f for f in formats() if f.detect(keys, torchscript)), None)

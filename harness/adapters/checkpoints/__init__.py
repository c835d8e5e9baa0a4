"""Vision-encoder checkpoints: format detection, conversion to the tower's names, validated swap.

Public entry point: `swap_encoder(tower, path, allow_partial=False, interpolate_pos=False)`.
Formats: Hugging Face CLIP (`hf_clip`), open_clip (`open_clip`), LoRSU (`lorsu`), OpenAI CLIP
(`openai_clip`) into CLIP towers; EVA-CLIP (`eva_clip`) into EVA ViT-g towers; HF SigLIP (`hf_siglip`)
and open_clip/timm SigLIP (`open_clip_siglip`) into SigLIP towers. See `registry`
to add formats or target towers.
"""

from __future__ import annotations

from .errors import CheckpointNotFoundError, EncoderCheckpointError
from .kinds import CheckpointFormat, TowerKind
from .reader import RawCheckpoint, read_checkpoint
from .registry import detect_format, formats, register_format, register_tower_kind
from .report import SwapReport
from .swap import check_encoder_file, inspect_checkpoint, swap_encoder

__all__ = [
    "CheckpointFormat",
    "CheckpointNotFoundError",
    "EncoderCheckpointError",
    "RawCheckpoint",
    "SwapReport",
    "TowerKind",
    "check_encoder_file",
    "detect_format",
    "formats",
    "inspect_checkpoint",
    "read_checkpoint",
    "register_format",
    "register_tower_kind",
    "swap_encoder",
]

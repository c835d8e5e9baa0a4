"""Vision-encoder checkpoints: format detection, conversion to the tower's names, validated swap.

Public entry point: `swap_encoder(tower, path, allow_partial=False, interpolate_pos=False)`.
Formats: Hugging Face CLIP (`hf_clip`), open_clip (`open_clip`), LoRSU (`lorsu`), OpenAI CLIP
(`openai_clip`) into CLIP towers; EVA-CLIP (`eva_clip`) into EVA ViT-g towers; HF SigLIP (`hf_siglip`)
and open_clip/timm SigLIP (`open_clip_siglip`) into SigLIP towers. See `registry` to add formats and
`towers` to add target towers.

The names below load with the module that defines them, on first use: `check_encoder_file` and the format
registry are torch-free, so `harness eval` checks an `--encoder` before torch is imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOME = {
    "CheckpointNotFoundError": "errors",
    "EncoderCheckpointError": "errors",
    "CheckpointFormat": "kinds",
    "TowerKind": "kinds",
    "RawCheckpoint": "reader",
    "read_checkpoint": "reader",
    "detect_format": "registry",
    "formats": "registry",
    "register_format": "registry",
    "register_tower_kind": "towers",
    "SwapReport": "report",
    "check_encoder_file": "check",
    "inspect_checkpoint": "swap",
    "swap_encoder": "swap",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOME[name]}", __name__), name)

"""Real-geometry Qwen2.5-VL and Qwen3-VL (see `real_geometry`): the published configs (`published_qwen`,
`published_qwen3`) with depth and width shrunk, the Qwen2 vocabulary with the Qwen-VL special tokens at their
published ids, the published image processor (dynamic resolution: 28-px, for Qwen3-VL 32-px, merged patches
between the pixel bounds) and chat template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
    Qwen3VLVideoProcessor,
)

from harness.toy.published_qwen import PUBLISHED_QWEN
from harness.toy.published_qwen3 import PUBLISHED_QWEN3
from harness.toy.real_parts import TEXT, VISION, Vocabularies, save, shrunk

VISION_DEPTH = 4  # window attention in blocks 0 and 2, full attention in 1 and 3 (`stand_ins`)


def text_config(entry: dict[str, Any], tok: Any) -> dict[str, Any]:
    """The shrunk text config, M-RoPE as transformers 5 spells it (`rope_parameters`)."""
    text = dict(entry["config"]["text_config"])
    theta, _ = text.pop("rope_theta"), text.pop("mrope_section")
    rope = {"rope_type": "default", "rope_theta": theta, "mrope_section": entry["stand_ins"]["mrope_section"]}
    out = shrunk(text, TEXT, pad_token_id=tok.pad_token_id, rope_parameters=rope)
    out["max_window_layers"] = TEXT["num_hidden_layers"]  # every layer: sliding windows are off anyway
    return out


def vision_config(entry: dict[str, Any]) -> dict[str, Any]:
    vision = dict(entry["config"]["vision_config"])
    vision.update(
        depth=VISION_DEPTH,
        hidden_size=VISION["hidden_size"],
        intermediate_size=VISION["intermediate_size"],
        num_heads=VISION["num_attention_heads"],
        out_hidden_size=TEXT["hidden_size"],
        fullatt_block_indexes=entry["stand_ins"]["fullatt_block_indexes"],
    )
    return vision


def processor(entry: dict[str, Any], tok: Any) -> Qwen2_5_VLProcessor:
    ip = {k: v for k, v in entry["image_processor"].items() if k != "class"}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**ip),
        tokenizer=tok,
        video_processor=Qwen2VLVideoProcessor(**ip),
        chat_template=entry["chat_template"],
    )


def _qwen2_5_vl(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg = entry["config"]
    top = {k: v for k, v in cfg.items() if k not in ("model_type", "text_config", "vision_config")}
    config = Qwen2_5_VLConfig(text_config=text_config(entry, tok), vision_config=vision_config(entry), **top)
    return save(Qwen2_5_VLForConditionalGeneration(config), processor(entry, tok), out, seed)


def _qwen3_vl(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    """Qwen3's head_dim is its own key: kept at 128, so the published M-RoPE split [24, 20, 20] of 64 stays."""
    cfg = entry["config"]
    text = dict(cfg["text_config"])
    rope = {"rope_type": "default", "rope_theta": text.pop("rope_theta")}
    rope |= {"mrope_section": text.pop("mrope_section"), "mrope_interleaved": text.pop("mrope_interleaved")}
    text = shrunk(text, TEXT, pad_token_id=tok.pad_token_id, rope_parameters=rope)
    vision = dict(cfg["vision_config"])
    vision.update(
        depth=VISION_DEPTH,
        hidden_size=VISION["hidden_size"],
        intermediate_size=VISION["intermediate_size"],
        num_heads=VISION["num_attention_heads"],
        out_hidden_size=TEXT["hidden_size"],
        deepstack_visual_indexes=entry["stand_ins"]["deepstack_visual_indexes"],
    )
    top = {k: v for k, v in cfg.items() if k not in ("model_type", "text_config", "vision_config")}
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **top)
    ip = {k: v for k, v in entry["image_processor"].items() if k != "class"}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(**ip),
        tokenizer=tok,
        video_processor=Qwen3VLVideoProcessor(**ip),
        chat_template=entry["chat_template"],
    )
    return save(Qwen3VLForConditionalGeneration(config), processor, out, seed)


BUILDERS = {"qwen2_5_vl": _qwen2_5_vl, "qwen3_vl": _qwen3_vl}


def build_real_qwen(family: str, out: Path, vocabularies: Vocabularies, seed: int = 0) -> dict[str, Path]:
    """`real_geometry.build_real` for the Qwen-VL families (kept out of `real_parts.PUBLISHED`: the generic
    real-geometry tests compare CLIP-style vision keys that the Qwen ViT names differently)."""
    entry = {**PUBLISHED_QWEN, **PUBLISHED_QWEN3}[family]
    torch.manual_seed(seed)
    return BUILDERS[family](Path(out), entry, vocabularies.tokenizer(entry), seed)

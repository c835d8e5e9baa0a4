"""Real-geometry Gemma 4 (E2B, `published_gemma`): the published text and vision configs shrunk in depth and width,
Gemma 4's own vocabulary and chat template (llama.cpp's GGUF), transformers' Gemma 4 processor with the published
settings, random weights, saved with `save_pretrained`.

Kept as published: vocabulary and every special id, the image markers, patch size, pooling kernel, soft-token
budget (so image-token counts are the processor's real ones, up to 280 per image), position table, axial rotary,
clipped linears, the 4:1 sliding/full layer pattern, multi-query attention, proportional rotary on full layers,
KV sharing, per-layer embeddings, logit softcapping, tied embeddings. Shrunk: widths, depths, head counts and
sizes, and the sliding window (`SHRUNK_WINDOW`, so that a prompt with one image is longer than it and the
window mask matters). No audio tower is built (the harness evaluates image + text; audio is refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    Gemma4AudioFeatureExtractor,
    Gemma4Config,
    Gemma4ForConditionalGeneration,
    Gemma4ImageProcessor,
    Gemma4Processor,
    Gemma4TextConfig,
    Gemma4VideoProcessor,
    Gemma4VisionConfig,
)

from harness.toy.published_gemma import FULL, SLIDING

SHRUNK_WINDOW = 128
TEXT_SIZES: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "head_dim": 16,
    "global_head_dim": 32,
    "hidden_size_per_layer_input": 16,
    "layer_types": ([SLIDING] * 4 + [FULL]) * 2,
    "num_hidden_layers": 10,
    "num_kv_shared_layers": 4,
    "sliding_window": SHRUNK_WINDOW,
}
VISION_SIZES: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "head_dim": 16,
}


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def gemma4_config(entry: dict[str, Any], text: dict[str, Any] | None = None, vision: dict[str, Any] | None = None):
    """The published config with the shrunk sizes (and any `text`/`vision` overrides)."""
    cfg = entry["config"]
    return Gemma4Config(
        text_config=Gemma4TextConfig(**_without({**cfg["text_config"], **TEXT_SIZES, **(text or {})}, "model_type")),
        vision_config=Gemma4VisionConfig(
            **_without({**cfg["vision_config"], **VISION_SIZES, **(vision or {})}, "model_type")
        ),
        audio_config=None,
        **_without(cfg, "model_type", "text_config", "vision_config"),
    )


def gemma4_processor(entry: dict[str, Any], tok: Any) -> Gemma4Processor:
    ip = _without(entry["image_processor"], "class")
    return Gemma4Processor(
        feature_extractor=Gemma4AudioFeatureExtractor(),
        image_processor=Gemma4ImageProcessor(**ip),
        tokenizer=tok,
        video_processor=Gemma4VideoProcessor(),
        chat_template=tok.chat_template,
        **_without(entry["processor"], "class"),
    )


def spread_gemma_weights(model: torch.nn.Module, seed: int) -> None:
    """Random weights with spread (matrices ~1/sqrt(fan-in), norms ~1); the per-layer output scalars stay 1 so
    every layer contributes."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_scalar"):
                p.fill_(1.0)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p.shape[-1] ** 0.5))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))


def build_gemma4(
    out: Path, entry: dict[str, Any], tok: Any, seed: int, text: dict[str, Any] | None = None
) -> dict[str, Path]:
    """The real-geometry Gemma 4 in `out` (`text`: overrides of the shrunk text config, e.g. bidirectional
    attention over the image for the larger Gemma 4 models' masks)."""
    torch.manual_seed(seed)
    model = Gemma4ForConditionalGeneration(gemma4_config(entry, text=text))
    spread_gemma_weights(model, seed)
    model.save_pretrained(out)
    gemma4_processor(entry, tok).save_pretrained(out)
    return {"model": Path(out)}


BUILDERS = {"gemma4": build_gemma4}

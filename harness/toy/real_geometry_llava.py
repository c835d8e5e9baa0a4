"""Real-geometry LLaVA-1.5, LLaVA-NeXT and LLaVA-OneVision (see `real_geometry`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaNextConfig,
    LlavaNextForConditionalGeneration,
    LlavaNextImageProcessor,
    LlavaNextProcessor,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    LlavaOnevisionImageProcessor,
    LlavaOnevisionProcessor,
    LlavaOnevisionVideoProcessor,
    LlavaProcessor,
    Qwen2Config,
    SiglipVisionConfig,
)

from harness.toy.real_parts import TEXT, VISION, ids, save, shrunk


def _llava(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg, ip, pp = entry["config"], entry["image_processor"], entry["processor"]
    config = LlavaConfig(
        text_config=LlamaConfig(**shrunk(cfg["text_config"], TEXT, **ids(tok))),
        vision_config=CLIPVisionConfig(**shrunk(cfg["vision_config"], VISION)),
        **{k: v for k, v in cfg.items() if k not in ("model_type", "text_config", "vision_config")},
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(**{k: v for k, v in ip.items() if k != "class"}),
        tokenizer=tok,
        chat_template=entry["chat_template"],
        **{k: v for k, v in pp.items() if k != "class"},
    )
    return save(LlavaForConditionalGeneration(config), processor, out, seed)


def _llava_next(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg, ip, pp = entry["config"], entry["image_processor"], entry["processor"]
    config = LlavaNextConfig(
        text_config=LlamaConfig(**shrunk(cfg["text_config"], TEXT, **ids(tok))),
        vision_config=CLIPVisionConfig(**shrunk(cfg["vision_config"], VISION)),
        **{k: v for k, v in cfg.items() if k not in ("model_type", "text_config", "vision_config")},
    )
    processor = LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(**{k: v for k, v in ip.items() if k != "class"}),
        tokenizer=tok,
        chat_template=entry["chat_template"],
        **{k: v for k, v in pp.items() if k != "class"},
    )
    return save(LlavaNextForConditionalGeneration(config), processor, out, seed)


def _llava_onevision(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg, ip, pp = entry["config"], entry["image_processor"], entry["processor"]
    text = cfg["text_config"]
    config = LlavaOnevisionConfig(
        text_config=Qwen2Config(**shrunk(text, TEXT, bos_token_id=text["bos_token_id"], pad_token_id=tok.pad_token_id)),
        vision_config=SiglipVisionConfig(**shrunk(cfg["vision_config"], {**VISION, "num_hidden_layers": 2})),
        **{k: v for k, v in cfg.items() if k not in ("model_type", "text_config", "vision_config")},
    )
    image_processor = LlavaOnevisionImageProcessor(**{k: v for k, v in ip.items() if k != "class"})
    processor = LlavaOnevisionProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=LlavaOnevisionVideoProcessor(
            size=ip["size"], image_mean=ip["image_mean"], image_std=ip["image_std"]
        ),
        chat_template=entry["chat_template"],
        vision_aspect_ratio=cfg["vision_aspect_ratio"],
        **{k: v for k, v in pp.items() if k != "class"},
    )
    return save(LlavaOnevisionForConditionalGeneration(config), processor, out, seed)


BUILDERS = {"llava": _llava, "llava_next": _llava_next, "llava_onevision": _llava_onevision}

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


def _without(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def _clip_llama(classes: tuple[type, type, type, type]) -> Any:
    """A builder for the CLIP + Llama families (LLaVA-1.5, LLaVA-NeXT): (config, model, processor, image
    processor) classes, the rest the same."""
    config_cls, model_cls, processor_cls, image_processor_cls = classes

    def build(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
        cfg, ip, pp = entry["config"], entry["image_processor"], entry["processor"]
        config = config_cls(
            text_config=LlamaConfig(**shrunk(cfg["text_config"], TEXT, **ids(tok))),
            vision_config=CLIPVisionConfig(**shrunk(cfg["vision_config"], VISION)),
            **_without(cfg, "model_type", "text_config", "vision_config"),
        )
        processor = processor_cls(
            image_processor=image_processor_cls(**_without(ip, "class")),
            tokenizer=tok,
            chat_template=entry["chat_template"],
            **_without(pp, "class"),
        )
        return save(model_cls(config), processor, out, seed)

    return build


def _llava_onevision(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg, ip, pp = entry["config"], entry["image_processor"], entry["processor"]
    text = cfg["text_config"]
    config = LlavaOnevisionConfig(
        text_config=Qwen2Config(**shrunk(text, TEXT, bos_token_id=text["bos_token_id"], pad_token_id=tok.pad_token_id)),
        vision_config=SiglipVisionConfig(**shrunk(cfg["vision_config"], {**VISION, "num_hidden_layers": 2})),
        **_without(cfg, "model_type", "text_config", "vision_config"),
    )
    image_processor = LlavaOnevisionImageProcessor(**_without(ip, "class"))
    processor = LlavaOnevisionProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=LlavaOnevisionVideoProcessor(
            size=ip["size"], image_mean=ip["image_mean"], image_std=ip["image_std"]
        ),
        chat_template=entry["chat_template"],
        vision_aspect_ratio=cfg["vision_aspect_ratio"],
        **_without(pp, "class"),
    )
    return save(LlavaOnevisionForConditionalGeneration(config), processor, out, seed)


BUILDERS = {
    "llava": _clip_llama((LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor, CLIPImageProcessor)),
    "llava_next": _clip_llama(
        (LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor, LlavaNextImageProcessor)
    ),
    "llava_onevision": _llava_onevision,
}

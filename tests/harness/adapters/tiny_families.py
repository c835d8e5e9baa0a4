"""Tiny random-weight LLaVA-NeXT and LLaVA-OneVision models built from configs and saved with save_pretrained."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import (
    CLIPVisionConfig,
    LlamaConfig,
    LlavaNextConfig,
    LlavaNextForConditionalGeneration,
    LlavaNextImageProcessor,
    LlavaNextProcessor,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    LlavaOnevisionImageProcessor,
    LlavaOnevisionProcessor,
    LlavaOnevisionVideoProcessor,
    Qwen2Config,
    SiglipVisionConfig,
)

from harness.toy.tiny_llava import (
    LLAVA_CHAT_TEMPLATE,
    OPENAI_MEAN,
    OPENAI_STD,
    spread_weights,
)
from harness.toy.tokenizer import train_tokenizer

IMAGE, PATCH = 32, 8
# tiles of 32 px: 1x2, 2x1, 2x2 grids (the released models use 384/336 px tiles up to 6x6 / 2x2)
PINPOINTS = [[32, 64], [64, 32], [64, 64]]
# the LLaVA-OneVision chat template's shape: images, then the text, in Qwen2 <|im_start|> turns
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + ' ' }}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ '\n' + part['text'] }}{% endif %}"
    "{% endfor %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _tokenizer(extra: tuple[str, ...] = ()):
    with tempfile.TemporaryDirectory() as tmp:
        tok = train_tokenizer(Path(tmp))
    if extra:
        tok.add_special_tokens({"additional_special_tokens": ["<image>", *extra]})
    return tok


def text_kwargs(tok) -> dict:
    """The tiny decoder every test family shares (Llama / Qwen2 keys): 2 blocks of width 48, GQA 4:2."""
    return dict(
        vocab_size=len(tok),
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        rms_norm_eps=1e-5,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
    )


def siglip_vision_config(layers: int = 2) -> SiglipVisionConfig:
    return SiglipVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=2,
        image_size=IMAGE,
        patch_size=PATCH,
        vision_use_head=False,
    )


def build_tiny_onevision(out_dir: Path, seed: int = 0) -> Path:
    """SigLIP tower of 2 blocks (a 3-block SigLIP checkpoint loses its last), Qwen2 LM, any-res tiling."""
    tok = _tokenizer(("<|im_start|>", "<|im_end|>"))
    image_token_id = tok.convert_tokens_to_ids("<image>")
    config = LlavaOnevisionConfig(
        vision_config=siglip_vision_config(),
        text_config=Qwen2Config(**text_kwargs(tok)),
        image_token_id=image_token_id,
        video_token_id=tok.unk_token_id,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        image_grid_pinpoints=PINPOINTS,
        vision_aspect_ratio="anyres_max_9",
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config)
    spread_weights(model, seed)
    image_processor = LlavaOnevisionImageProcessor(
        size={"height": IMAGE, "width": IMAGE},
        image_grid_pinpoints=PINPOINTS,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    video_processor = LlavaOnevisionVideoProcessor(size={"height": IMAGE, "width": IMAGE})
    processor = LlavaOnevisionProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        video_processor=video_processor,
        num_image_tokens=(IMAGE // PATCH) ** 2,
        vision_feature_select_strategy="full",
        chat_template=QWEN_CHAT_TEMPLATE,
        vision_aspect_ratio="anyres_max_9",
    )
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return Path(out_dir)


def build_tiny_llava_next(out_dir: Path, seed: int = 0) -> Path:
    """CLIP ViT tower (the tiny LLaVA's geometry: 3 blocks, width 32, patch 8, 32 px), Llama LM, any-res."""
    tok = _tokenizer()
    image_token_id = tok.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        image_size=IMAGE,
        patch_size=PATCH,
        hidden_act="quick_gelu",
        projection_dim=32,
    )
    config = LlavaNextConfig(
        vision_config=vision,
        text_config=LlamaConfig(**text_kwargs(tok)),
        image_token_id=image_token_id,
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        image_grid_pinpoints=PINPOINTS,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlavaNextForConditionalGeneration(config)
    spread_weights(model, seed)
    image_processor = LlavaNextImageProcessor(
        size={"shortest_edge": IMAGE},
        crop_size={"height": IMAGE, "width": IMAGE},
        image_grid_pinpoints=PINPOINTS,
        image_mean=OPENAI_MEAN,
        image_std=OPENAI_STD,
    )
    processor = LlavaNextProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=LLAVA_CHAT_TEMPLATE,
    )
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return Path(out_dir)

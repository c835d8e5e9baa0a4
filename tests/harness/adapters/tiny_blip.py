"""Tiny random-weight BLIP-2 (OPT) and InstructBLIP (Llama/Vicuna) built from configs and saved with save_pretrained.

The vision tower has the EVA test geometry (width 32, MLP 80, patch 8, 2 blocks: one less than the 3-block EVA
checkpoints of `tests.harness.adapters.checkpoints.test_ckpt_eva_swap`) at 16 px, a 2x2 grid like a 224 px release.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import (
    Blip2Config,
    Blip2ForConditionalGeneration,
    Blip2Processor,
    Blip2QFormerConfig,
    Blip2VisionConfig,
    BlipImageProcessor,
    InstructBlipConfig,
    InstructBlipForConditionalGeneration,
    InstructBlipProcessor,
    InstructBlipQFormerConfig,
    InstructBlipVisionConfig,
    LlamaConfig,
    OPTConfig,
)

from harness.toy.tiny_llava import OPENAI_MEAN, OPENAI_STD, spread_weights
from harness.toy.tokenizer import train_tokenizer, train_wordpiece_tokenizer
from tests.harness.adapters.tiny_families import text_kwargs

IMAGE, QUERIES = 16, 4
VISION = dict(
    hidden_size=32,
    intermediate_size=80,
    num_hidden_layers=2,
    num_attention_heads=2,
    patch_size=8,
    image_size=IMAGE,
    hidden_act="gelu",
    layer_norm_eps=1e-6,
    qkv_bias=True,
)
QFORMER = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    encoder_hidden_size=32,
    max_position_embeddings=128,
)


def _tokenizer():
    with tempfile.TemporaryDirectory() as tmp:
        return train_tokenizer(Path(tmp))


def _image_processor() -> BlipImageProcessor:
    return BlipImageProcessor(
        size={"height": IMAGE, "width": IMAGE}, image_mean=OPENAI_MEAN, image_std=OPENAI_STD, do_convert_rgb=True
    )


def build_tiny_blip2(out_dir: Path, seed: int = 0) -> Path:
    tok = _tokenizer()
    text = OPTConfig(
        vocab_size=len(tok),
        hidden_size=48,
        ffn_dim=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        word_embed_proj_dim=48,
        max_position_embeddings=512,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    config = Blip2Config(
        vision_config=Blip2VisionConfig(**VISION),
        qformer_config=Blip2QFormerConfig(**QFORMER),
        text_config=text,
        num_query_tokens=QUERIES,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(seed)
    model = Blip2ForConditionalGeneration(config)
    spread_weights(model, seed)
    model.save_pretrained(out_dir)
    Blip2Processor(image_processor=_image_processor(), tokenizer=tok, num_query_tokens=QUERIES).save_pretrained(out_dir)
    return Path(out_dir)


def build_tiny_instructblip(out_dir: Path, seed: int = 0) -> Path:
    tok = _tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        qtok = train_wordpiece_tokenizer(Path(tmp))
    text = LlamaConfig(**{**text_kwargs(tok), "max_position_embeddings": 512})
    config = InstructBlipConfig(
        vision_config=InstructBlipVisionConfig(**VISION),
        qformer_config=InstructBlipQFormerConfig(vocab_size=len(qtok), **QFORMER),
        text_config=text,
        num_query_tokens=QUERIES,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(seed)
    model = InstructBlipForConditionalGeneration(config)
    spread_weights(model, seed)
    model.save_pretrained(out_dir)
    InstructBlipProcessor(
        image_processor=_image_processor(), tokenizer=tok, qformer_tokenizer=qtok, num_query_tokens=QUERIES
    ).save_pretrained(out_dir)
    return Path(out_dir)

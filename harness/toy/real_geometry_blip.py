"""Real-geometry BLIP-2, InstructBLIP and MiniGPT-v2 (see `real_geometry`): EVA ViT-g geometry (224 px / 14 for
BLIP-2 and InstructBLIP, 448 px from a 224 px EVA file for MiniGPT-v2), 32 queries, the published tokenizers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

from harness.toy.real_parts import QFORMER, TEXT, VISION, ids, save, shrunk
from harness.toy.tiny_minigptv2 import TinyMiniGPTv2Spec, build_tiny_minigptv2

EVA = {**VISION, "num_hidden_layers": 2}


def _image_processor(entry: dict[str, Any]) -> BlipImageProcessor:
    return BlipImageProcessor(
        **{k: v for k, v in entry["image_processor"].items() if k != "class"}, do_convert_rgb=True
    )


def _qformer(cfg: dict[str, Any], vision_width: int, **overrides: Any) -> dict[str, Any]:
    return shrunk(cfg["qformer_config"], QFORMER, encoder_hidden_size=vision_width, **overrides)


def _blip2(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg = entry["config"]
    text = cfg["text_config"]
    opt = {k: v for k, v in text.items() if k != "model_type"}
    opt.update(
        hidden_size=TEXT["hidden_size"], ffn_dim=TEXT["intermediate_size"], word_embed_proj_dim=TEXT["hidden_size"]
    )
    opt.update(num_hidden_layers=TEXT["num_hidden_layers"], num_attention_heads=TEXT["num_attention_heads"])
    # OPT's ids as this vocabulary numbers them; captions stop at a newline, as released
    opt.update(ids(tok), eos_token_id=tok.convert_tokens_to_ids("Ċ"))
    tok.add_bos_token = True  # OPT's tokenizer prepends its BOS (</s>)
    config = Blip2Config(
        vision_config=Blip2VisionConfig(**shrunk(cfg["vision_config"], EVA)),
        qformer_config=Blip2QFormerConfig(**_qformer(cfg, EVA["hidden_size"])),
        text_config=OPTConfig(**opt),
        num_query_tokens=cfg["num_query_tokens"],
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        use_decoder_only_language_model=True,
    )
    processor = Blip2Processor(
        image_processor=_image_processor(entry), tokenizer=tok, num_query_tokens=entry["processor"]["num_query_tokens"]
    )
    return save(Blip2ForConditionalGeneration(config), processor, out, seed)


def _instructblip(out: Path, entry: dict[str, Any], tok: Any, seed: int, qformer_tok: Any) -> dict[str, Path]:
    """`qformer_tok`: bert-base-uncased's WordPiece with [DEC] (entry["qformer_tokenizer"]), 30523 tokens as the
    published Q-Former's vocab_size."""
    cfg = entry["config"]
    config = InstructBlipConfig(
        vision_config=InstructBlipVisionConfig(**shrunk(cfg["vision_config"], EVA)),
        qformer_config=InstructBlipQFormerConfig(**_qformer(cfg, EVA["hidden_size"])),
        text_config=LlamaConfig(**shrunk(cfg["text_config"], TEXT, **ids(tok))),
        num_query_tokens=cfg["num_query_tokens"],
        image_token_index=cfg["image_token_index"],
        use_decoder_only_language_model=True,
    )
    processor = InstructBlipProcessor(
        image_processor=_image_processor(entry),
        tokenizer=tok,
        qformer_tokenizer=qformer_tok,
        num_query_tokens=entry["processor"]["num_query_tokens"],
    )
    return save(InstructBlipForConditionalGeneration(config), processor, out, seed)


def _minigptv2(out: Path, entry: dict[str, Any], tok: Any, seed: int) -> dict[str, Path]:
    cfg = entry["config"]
    vision, text = cfg["vision_config"], cfg["text_config"]
    spec = TinyMiniGPTv2Spec(
        image_size=vision["image_size"],
        eva_grid_size=cfg["eva_image_size"],
        patch_size=vision["patch_size"],
        vision_width=EVA["hidden_size"],
        vision_layers=EVA["num_hidden_layers"],
        vision_heads=EVA["num_attention_heads"],
        vision_mlp=EVA["intermediate_size"],
        text_width=TEXT["hidden_size"],
        text_layers=TEXT["num_hidden_layers"],
        text_heads=TEXT["num_attention_heads"],
        text_mlp=TEXT["intermediate_size"],
        lora_r=cfg["lora_r"],
        max_positions=text["max_position_embeddings"],
        rms_norm_eps=text["rms_norm_eps"],
        seed=seed,
    )
    return build_tiny_minigptv2(out, spec, tok)


BUILDERS = {"blip2": _blip2, "instructblip": _instructblip, "minigptv2": _minigptv2}

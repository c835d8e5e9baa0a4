"""Tiny random-weight CLIPs of both families and a synthetic captioned-image set, for tests and demos.

- `build_tiny_hf_clip(dir)`: a transformers `CLIPModel` + word-level tokenizer + image processor, saved
  with `save_pretrained`; its vision tower has the geometry of the tiny LLaVA's (`TinySpec`).
- `build_tiny_open_clip(dir, kind="vit"|"eva")`: an open_clip model config `.json` + checkpoint, loaded
  through `open_clip.create_model_and_transforms` like real models. `eva` uses open_clip's timm-trunk
  route (as EVA01-g-14 does) with `harness_tiny_eva`, a tiny timm `Eva` (`harness.clip.tiny_eva`).
Both return the spec string for `load_clip`.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from harness.clip.data import CaptionedImages
from harness.clip.tiny_eva import TINY_EVA
from harness.tasks.toy_shapes import COLORS, POSITIONS, SHAPES, draw_shape
from harness.toy.tiny_llava import TinySpec, clip_image_processor, vision_config

TINY_SPEC = TinySpec(vision_heads=4)
SHAPE_TEMPLATES = ("a photo of a {} shape.", "a {} thing.")
_WORDS = (
    "a an the of on in at is photo picture person shape thing traffic sign zoomed centered close up "
    "photo image this that red green blue yellow purple orange black white circle square triangle cross "
    "left right top bottom walking eating sitting stop speed limit"
).split()


def word_tokenizer(out_dir: Path, extra_words: tuple[str, ...] = (), max_length: int = 16):
    """A word-level fast tokenizer ([PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3), saved to `out_dir`."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    words = list(dict.fromkeys(w.lower() for w in (*_WORDS, *extra_words)))
    vocab = {t: i for i, t in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        model_max_length=max_length,
    )
    fast.save_pretrained(out_dir)
    return fast


def build_tiny_hf_clip(out_dir: Path, spec: TinySpec = TINY_SPEC, embed_dim: int = 24, seed: int = 0) -> Path:
    """Write a tiny transformers CLIPModel (+ tokenizer and processor) to `out_dir`; returns the dir."""
    from transformers import CLIPConfig, CLIPModel

    out_dir = Path(out_dir)
    text = {**text_tower(len(word_tokenizer(out_dir))), "hidden_act": "quick_gelu"}
    cfg = CLIPConfig(text_config=text, vision_config=vision_config(spec).to_dict(), projection_dim=embed_dim)
    torch.manual_seed(seed)
    CLIPModel(cfg).save_pretrained(out_dir, safe_serialization=True)
    clip_image_processor(spec.image_size).save_pretrained(out_dir)
    return out_dir


def text_tower(vocab_size: int) -> dict[str, int]:
    """The tiny text tower of the HF CLIP and SigLIP builders (one block of width 32, 16 positions)."""
    return dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=16,
        bos_token_id=2,
        eos_token_id=3,
        pad_token_id=0,
    )


def build_tiny_hf_siglip(out_dir: Path, seed: int = 0) -> Path:
    """Write a tiny transformers SiglipModel (vision 3 blocks x 32 at 32 px, patch 8; word tokenizer; SigLIP
    preprocessing: square resize, mean = std = 0.5) to `out_dir`; returns the dir."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipTextConfig, SiglipVisionConfig

    out_dir = Path(out_dir)
    text = SiglipTextConfig(**text_tower(len(word_tokenizer(out_dir))), projection_size=32)
    vision = SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2, image_size=32, patch_size=8
    )
    torch.manual_seed(seed)
    SiglipModel(SiglipConfig(text_config=text.to_dict(), vision_config=vision.to_dict())).save_pretrained(out_dir)
    square = {"height": vision.image_size, "width": vision.image_size}
    SiglipImageProcessor(size=square, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(out_dir)
    return out_dir


def build_tiny_open_clip(
    out_dir: Path, kind: str = "vit", spec: TinySpec = TINY_SPEC, embed_dim: int = 24, seed: int = 0
) -> str:
    """Write `tiny_{kind}.json` + `tiny_{kind}.pt` to `out_dir`; returns `open_clip:CONFIG@CHECKPOINT`."""
    import open_clip

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}
    if kind == "vit":
        vision = {
            "image_size": spec.image_size,
            "layers": spec.vision_layers,
            "width": spec.vision_width,
            "head_width": spec.vision_width // spec.vision_heads,
            "patch_size": spec.patch_size,
            "mlp_ratio": spec.vision_mlp / spec.vision_width,
        }
        config = {"embed_dim": embed_dim, "quick_gelu": True, "vision_cfg": vision, "text_cfg": text}
    elif kind == "eva":
        vision = {
            "image_size": 32,
            "timm_model_name": TINY_EVA,
            "timm_model_pretrained": False,
            "timm_pool": "token",
            "timm_proj": None,
        }
        config = {"embed_dim": embed_dim, "vision_cfg": vision, "text_cfg": text, "custom_text": True}
    else:
        raise ValueError(f"kind must be 'vit' or 'eva', got {kind!r}")
    cfg_path = out_dir / f"tiny_{kind}.json"
    cfg_path.write_text(json.dumps(config, indent=1))
    open_clip.add_model_config(cfg_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(cfg_path.stem)
    ckpt = out_dir / f"tiny_{kind}.pt"
    torch.save(model.state_dict(), ckpt)
    return f"open_clip:{cfg_path}@{ckpt}"


def shapes_data(
    n: int,
    seed: int = 0,
    size: int = 32,
    classes: tuple[str, ...] = tuple(COLORS),
    templates: tuple[str, ...] = SHAPE_TEMPLATES,
    style: str = "filled",
    tint: float = 0.5,
) -> CaptionedImages:
    """`n` shape images (random shape and position) captioned by their colour, classes balanced.

    `tint` blends the whole image toward the colour, so the colour is a strong visual signal.
    """
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        c = i % len(classes)
        img = draw_shape(classes[c], rng.choice(SHAPES), rng.choice(list(POSITIONS)), size, rng, style)
        if tint > 0:
            img = Image.blend(img, Image.new("RGB", img.size, COLORS[classes[c]]), tint)
        samples.append((img, c))
    return CaptionedImages(
        samples, list(classes), templates, name="shapes", ids=[f"shape-{seed}-{i}" for i in range(n)]
    )


def tiny_spec(**overrides: int) -> TinySpec:
    return replace(TINY_SPEC, **overrides)

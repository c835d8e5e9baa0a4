"""Random-weight Qwen2.5-VL-7B-Instruct at its published size (or a tiny stand-in), built in memory.

As `gpu_models`: no download, parameters allocated on the target device in the target dtype, N(0, 0.02) weights.
Full size takes the published config (`harness.toy.published_qwen`) and the Qwen2 GGUF vocabulary with the
Qwen-VL special tokens at their published ids (`harness.toy.real_parts.Vocabularies`, ~25 s to read); tiny takes
the real-geometry shrink (`harness.toy.real_geometry_qwen`) and the toy sentencepiece tokenizer with the Qwen-VL
chat tokens added (seconds). Both use the published image processor (dynamic resolution) and chat template.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

from benchmarks.gpu_models import allocated, randomise
from harness.adapters.qwen2_5_vl import Qwen2_5_VLAdapter
from harness.toy.published_qwen import QWEN2_5_VL, QWEN_VL_ADDED
from harness.toy.real_geometry_qwen import processor, text_config, vision_config
from harness.toy.real_parts import Vocabularies
from harness.toy.tokenizer import train_tokenizer

TOKENIZERS = Path(__file__).resolve().parent.parent / "tests" / "data" / "tokenizers"
# the chat template's tokens beyond QWEN_VL_ADDED (the Qwen2 vocabulary has them at 151643-151645)
CHAT_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# the config's top-level token ids (published: 151655, 151656, 151652, 151653) by their tokens
TOP_IDS = {
    "image_token_id": "<|image_pad|>",
    "video_token_id": "<|video_pad|>",
    "vision_start_token_id": "<|vision_start|>",
    "vision_end_token_id": "<|vision_end|>",
}


def _tiny_tokenizer() -> Any:
    """The toy tokenizer with the Qwen-VL tokens (ids far below Qwen's; the shrunk config's vocabulary fits it)."""
    with tempfile.TemporaryDirectory() as tmp:
        tok = train_tokenizer(Path(tmp))
    tok.add_special_tokens({"additional_special_tokens": [*CHAT_TOKENS, *QWEN_VL_ADDED]})
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    return tok


def qwen_config(scale: str, tok: Any) -> Qwen2_5_VLConfig:
    """The published Qwen2.5-VL-7B config (`full`) or its real-geometry shrink (`tiny`), ids as `tok` numbers them."""
    entry, cfg = QWEN2_5_VL, QWEN2_5_VL["config"]
    top = {k: v for k, v in cfg.items() if k not in ("model_type", "text_config", "vision_config")}
    top.update({k: tok.convert_tokens_to_ids(t) for k, t in TOP_IDS.items()})
    if scale == "full":
        text = dict(cfg["text_config"])
        rope = {
            "rope_type": "default",
            "rope_theta": text.pop("rope_theta"),
            "mrope_section": text.pop("mrope_section"),
        }
        text.update(pad_token_id=tok.pad_token_id, rope_parameters=rope)
        vision = dict(cfg["vision_config"])
    else:
        text = text_config(entry, tok) | {"vocab_size": len(tok), "eos_token_id": tok.eos_token_id}
        text["bos_token_id"] = tok.pad_token_id  # Qwen publishes 151643 (<|endoftext|>); the toy id of the same
        vision = vision_config(entry)
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **top)
    config._attn_implementation = "sdpa"
    return config


def build_qwen2_5_vl(scale: str, dtype: torch.dtype, device: torch.device) -> Qwen2_5_VLAdapter:
    tok = Vocabularies(TOKENIZERS).tokenizer(QWEN2_5_VL) if scale == "full" else _tiny_tokenizer()
    config = qwen_config(scale, tok)
    with allocated(device, dtype):
        model = Qwen2_5_VLForConditionalGeneration(config)
    randomise(model)
    return Qwen2_5_VLAdapter(model, processor(QWEN2_5_VL, tok), model_id=f"random qwen2.5-vl-7b ({scale})")


def window_lengths(grid_hw: tuple[int, int], vcfg: Any) -> list[int]:
    """Patches per attention window of the ViT's window blocks for an image of `grid_hw` 14-px patches: windows of
    `window_size` px (8x8 patches published) from the top-left corner, the last row and column cut short."""
    merge = vcfg.spatial_merge_size
    side = vcfg.window_size // merge // vcfg.patch_size  # in merged 2x2 units, as transformers tiles them

    def chunks(n: int) -> list[int]:
        return [side] * (n // side) + ([n % side] if n % side else [])

    h, w = grid_hw[0] // merge, grid_hw[1] // merge
    return [a * b * merge * merge for a in chunks(h) for b in chunks(w)]


def vit_flops(tower: torch.nn.Module, grid_hw: tuple[int, int]) -> float:
    """Qwen2.5-VL ViT FLOPs for one image: 2 x params x patches for the patch embedding and blocks, 2 x params x
    merged tokens for the merger, and per block QK^T and AV (4 x width x sum of squared window lengths: the
    window blocks over their windows, the `fullatt_block_indexes` blocks over all patches)."""
    vcfg = tower.config
    patches = grid_hw[0] * grid_hw[1]
    tokens = patches // vcfg.spatial_merge_size**2
    p_merger = sum(p.numel() for p in tower.merger.parameters())
    p_rest = sum(p.numel() for p in tower.parameters()) - p_merger
    n_full = len(vcfg.fullatt_block_indexes)
    squares = n_full * patches**2 + (vcfg.depth - n_full) * sum(n * n for n in window_lengths(grid_hw, vcfg))
    return 2 * p_rest * patches + 2 * p_merger * tokens + 4 * vcfg.hidden_size * squares

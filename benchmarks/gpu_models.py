"""Random-weight LLaVA-1.5-7B and MiniGPT-v2 at their real sizes (or tiny stand-ins), built in memory.

No download: each model is built from its config with parameters allocated directly on the target device
(`torch.device` context, no host copy) and the toy sentencepiece tokenizer (ids stay far below the real
vocabularies, which set the lm_head size). Used by benchmarks/bench_gpu.py.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import (
    Blip2VisionConfig,
    Blip2VisionModel,
    CLIPVisionConfig,
    LlamaConfig,
    LlamaForCausalLM,
    LlavaForConditionalGeneration,
)

from harness.adapters.llava import LlavaAdapter
from harness.adapters.minigptv2 import MiniGPTv2Adapter, cast_all_but_llm
from harness.adapters.minigptv2_model import MiniGPTv2, eva_vit_g_config
from harness.toy.published_llava import CLIP_L_336 as PUBLISHED_CLIP_L_336
from harness.toy.published_llava import VICUNA_7B
from harness.toy.tiny_llava import clip_image_processor, llava_config, llava_processor
from harness.toy.tokenizer import train_tokenizer

LLAMA_TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=2048,
    rms_norm_eps=1e-5,
)
CLIP_TINY = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    image_size=56,
    patch_size=14,
    projection_dim=32,
)
# the real sizes are the published ones (harness/toy/published_llava.py), restricted to the keys set here
LLAMA_7B = {k: VICUNA_7B[k] for k in LLAMA_TINY}
CLIP_L_336 = {k: PUBLISHED_CLIP_L_336[k] for k in CLIP_TINY}
EVA_TINY = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    patch_size=14,
    image_size=112,
    hidden_act="gelu",
    layer_norm_eps=1e-6,
    qkv_bias=True,
)


@contextmanager
def allocated(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """New parameters go straight to `device` in `dtype` (no fp32 or host copy of a 7B model)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(before)


def _tokenizer():
    with tempfile.TemporaryDirectory() as tmp:
        return train_tokenizer(Path(tmp))


def randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """N(0, 0.02) weights and unit norms, like an untrained checkpoint; in place, on the model's device."""
    g = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            elif p.dim() >= 2:
                p.normal_(0.0, 0.02, generator=g)
            else:
                p.zero_()


def build_llava(scale: str, dtype: torch.dtype, device: torch.device) -> LlavaAdapter:
    tok = _tokenizer()
    full = scale == "full"
    text = LlamaConfig(
        vocab_size=32064 if full else len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=False,
        **(LLAMA_7B if full else LLAMA_TINY),
    )
    vision = CLIPVisionConfig(hidden_act="quick_gelu", layer_norm_eps=1e-5, **(CLIP_L_336 if full else CLIP_TINY))
    config = llava_config(vision, text, tok)
    config._attn_implementation = "sdpa"
    with allocated(device, dtype):
        model = LlavaForConditionalGeneration(config)
    randomise(model)
    processor = llava_processor(clip_image_processor(vision.image_size), tok, vision.patch_size)
    return LlavaAdapter(model, processor, model_id=f"random llava-1.5-7b ({scale})")


def build_minigptv2(scale: str, dtype: torch.dtype, device: torch.device) -> MiniGPTv2Adapter:
    tok = _tokenizer()
    full = scale == "full"
    cfg = LlamaConfig(
        vocab_size=32000 if full else len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **(LLAMA_7B if full else LLAMA_TINY),
    )
    cfg._attn_implementation = "sdpa"
    with allocated(device, dtype):
        vision = Blip2VisionModel(eva_vit_g_config(448) if full else Blip2VisionConfig(**EVA_TINY))
        net = MiniGPTv2(vision, LlamaForCausalLM(cfg))
    cast_all_but_llm(net, dtype)  # peft makes LoRA fp32; the adapter's bf16/fp16 modes cast it
    randomise(net)
    name = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.float32: "float32"}[dtype]
    return MiniGPTv2Adapter(net, tok, torch.device(device), name, {"model": f"random minigptv2 ({scale})"})

"""VLM family names → adapter loaders, with the encoder checkpoint formats that swap into each family's tower."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.errors import InvalidInput, UnknownName

if TYPE_CHECKING:  # the registry is read before any model loads: it must not import torch
    from harness.adapters.base import VLMAdapter


def _load_llava(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.llava import LlavaAdapter

    return LlavaAdapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


def _load_llava_next(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.llava_next import LlavaNextAdapter

    return LlavaNextAdapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


def _load_llava_onevision(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.llava_onevision import LlavaOnevisionAdapter

    return LlavaOnevisionAdapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


def _load_qwen2_5_vl(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.qwen2_5_vl import Qwen2_5_VLAdapter

    return Qwen2_5_VLAdapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


def _load_qwen3_vl(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.qwen3_vl import Qwen3VLAdapter

    return Qwen3VLAdapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


def _load_blip2(model: str | None, dtype: str, device: str, **_: object) -> VLMAdapter:
    from harness.adapters.blip2 import Blip2Adapter

    return Blip2Adapter.load(model, dtype=dtype, device=device)


def _load_instructblip(model: str | None, dtype: str, device: str, **_: object) -> VLMAdapter:
    from harness.adapters.instructblip import InstructBlipAdapter

    return InstructBlipAdapter.load(model, dtype=dtype, device=device)


def _load_minigptv2(
    model: str | None,
    dtype: str,
    device: str,
    minigptv2_ckpt: str | None = None,
    eva_ckpt: str | None = None,
    attn_implementation: str = "sdpa",
    **_: object,
) -> VLMAdapter:
    from harness.adapters.minigptv2 import MiniGPTv2Adapter

    if not model:
        raise InvalidInput("--vlm minigptv2 needs --model DIR: the Llama-2-7b-chat weights in HF format")
    return MiniGPTv2Adapter.load(
        model, minigptv2_ckpt, eva_ckpt, dtype=dtype, device=device, attn_implementation=attn_implementation
    )


def _load_gemma4(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.gemma4 import Gemma4Adapter

    return Gemma4Adapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


def _load_chameleon(
    model: str | None, dtype: str, device: str, attn_implementation: str = "sdpa", **_: object
) -> VLMAdapter:
    from harness.adapters.chameleon import ChameleonAdapter

    return ChameleonAdapter.load(model, dtype=dtype, device=device, attn_implementation=attn_implementation)


# family -> (loader, description, tower family of adapters.checkpoints that its --encoder swaps into)
_FAMILIES: dict[str, tuple[Callable[..., VLMAdapter], str, str]] = {
    "llava": (
        _load_llava,
        "LLaVA-1.5 (transformers LlavaForConditionalGeneration); default llava-hf/llava-1.5-7b-hf",
        "clip_vit",
    ),
    "llava_next": (
        _load_llava_next,
        "LLaVA-NeXT / 1.6, any-resolution tiling (LlavaNextForConditionalGeneration); "
        "default llava-hf/llava-v1.6-vicuna-7b-hf",
        "clip_vit",
    ),
    "llava_onevision": (
        _load_llava_onevision,
        "LLaVA-OneVision, SigLIP-SO400M + Qwen2, any-resolution tiling "
        "(LlavaOnevisionForConditionalGeneration); default "
        "llava-hf/llava-onevision-qwen2-7b-ov-hf",
        "siglip_vit",
    ),
    "qwen2_5_vl": (
        _load_qwen2_5_vl,
        "Qwen2.5-VL, its own ViT (2-D rotary, window attention, patch merger) + Qwen2.5 with M-RoPE, dynamic "
        "resolution (Qwen2_5_VLForConditionalGeneration); default Qwen/Qwen2.5-VL-7B-Instruct",
        "qwen_vit",
    ),
    "qwen3_vl": (
        _load_qwen3_vl,
        "Qwen3-VL, its own ViT (2-D rotary + learned positions, DeepStack features into the first LLM layers) + "
        "Qwen3 with interleaved M-RoPE, dynamic resolution (Qwen3VLForConditionalGeneration); default "
        "Qwen/Qwen3-VL-8B-Instruct",
        "qwen3_vit",
    ),
    "blip2": (
        _load_blip2,
        "BLIP-2, EVA ViT-g/224 + Q-Former + OPT (Blip2ForConditionalGeneration); default Salesforce/blip2-opt-2.7b",
        "eva_vit",
    ),
    "instructblip": (
        _load_instructblip,
        "InstructBLIP, BLIP-2 whose Q-Former reads the prompt "
        "(InstructBlipForConditionalGeneration); default "
        "Salesforce/instructblip-vicuna-7b",
        "eva_vit",
    ),
    "minigptv2": (
        _load_minigptv2,
        "MiniGPT-v2 (EVA ViT-g/448 + Llama-2-7b-chat + LoRA): --model LLAMA_DIR "
        "--minigptv2-ckpt minigptv2_checkpoint.pth --eva-ckpt eva_vit_g.pth",
        "eva_vit",
    ),
    "gemma4": (
        _load_gemma4,
        "Gemma 4, its own ViT (2-D axial rotary, pooled soft tokens) + a sliding/full-attention decoder "
        "(Gemma4ForConditionalGeneration; image + text, audio refused); default google/gemma-4-E2B-it",
        "gemma4_vit",
    ),
    "chameleon": (
        _load_chameleon,
        "Chameleon, early fusion: a VQ-VAE image tokenizer's codes are tokens of one decoder "
        "(ChameleonForConditionalGeneration); default facebook/chameleon-7b; likelihood and generate modes. "
        "No continuous vision tower: --encoder and harness tune --vlm chameleon are refused",
        "vq_image_tokenizer",  # no checkpoint format converts into it
    ),
}


def encoder_formats(name: str) -> list[str]:
    """Checkpoint formats (`harness.adapters.checkpoints`) whose conversion targets this family's vision tower."""
    from harness.adapters.checkpoints import formats

    tower = _FAMILIES[name][2]
    return [f.name for f in formats() if f.family == tower and f.convert is not None]


def check_encoder_family(name: str, path: str) -> None:
    """Refuse an `--encoder` whose format (read from its tensor names, no model loaded) swaps into another tower
    family than `name`'s, naming its first keys; the geometry is checked when it swaps (nothing loaded on error)."""
    from harness.adapters.checkpoints import check_encoder_file
    from harness.adapters.checkpoints.errors import EncoderCheckpointError
    from harness.adapters.checkpoints.names import checkpoint_path, peek_names

    fmt, tower = check_encoder_file(path), _FAMILIES[name][2]
    if fmt.family != tower:
        names = sorted(peek_names(checkpoint_path(path)) or [])
        keys = ", ".join(([k for k in names if not fmt.unused(k)] or names)[:3])
        msg = f"this is {fmt.family_title} checkpoint (format {fmt.name}); --vlm {name} swaps only {tower} towers"
        raise EncoderCheckpointError(
            f"{path}: {msg}; nothing was loaded. First keys: {keys}", path=path, format=fmt.name, problems=[msg]
        )


def family_doc(name: str) -> str:
    """The family's description with the encoder formats that swap into it (imports the format registry)."""
    return f"{_FAMILIES[name][1]}. --encoder formats: {', '.join(encoder_formats(name)) or 'none'}"


# Read before any model loads (names, descriptions): nothing here may import torch.
VLMS: dict[str, tuple[Callable[..., VLMAdapter], str]] = {name: (f[0], f[1]) for name, f in _FAMILIES.items()}


def load_vlm(name: str, model: str | None, dtype: str, device: str, **options: object) -> VLMAdapter:
    if name not in VLMS:
        raise UnknownName(f"unknown --vlm {name!r}; available: {', '.join(VLMS)}")
    return VLMS[name][0](model, dtype, device, **options)

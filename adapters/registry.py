"""VLM family names → adapter loaders."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.errors import InvalidInput, UnknownName

if TYPE_CHECKING:  # the registry is read before any model loads: it must not import torch
    from adapters.base import VLMAdapter


def _load_llava(model: str | None, dtype: str, device: str, **_: object) -> VLMAdapter:
    from adapters.llava import DEFAULT_MODEL, LlavaAdapter

    return LlavaAdapter.load(model or DEFAULT_MODEL, dtype=dtype, device=device)


def _load_minigptv2(
    model: str | None,
    dtype: str,
    device: str,
    minigptv2_ckpt: str | None = None,
    eva_ckpt: str | None = None,
    **_: object,
) -> VLMAdapter:
    from adapters.minigptv2 import MiniGPTv2Adapter

    if not model:
        raise InvalidInput("--vlm minigptv2 needs --model DIR: the Llama-2-7b-chat weights in HF format")
    return MiniGPTv2Adapter.load(model, minigptv2_ckpt, eva_ckpt, dtype=dtype, device=device)


VLMS: dict[str, tuple[Callable[..., VLMAdapter], str]] = {
    "llava": (_load_llava, "LLaVA-1.5 (transformers LlavaForConditionalGeneration); default llava-hf/llava-1.5-7b-hf"),
    "minigptv2": (
        _load_minigptv2,
        "MiniGPT-v2 (EVA ViT-g/448 + Llama-2-7b-chat + LoRA): --model LLAMA_DIR "
        "--minigptv2-ckpt minigptv2_checkpoint.pth --eva-ckpt eva_vit_g.pth",
    ),
}


def load_vlm(name: str, model: str | None, dtype: str, device: str, **options: object) -> VLMAdapter:
    if name not in VLMS:
        raise UnknownName(f"unknown --vlm {name!r}; available: {', '.join(VLMS)}")
    return VLMS[name][0](model, dtype, device, **options)

"""VLM family names → adapter loaders."""
from __future__ import annotations

from typing import Callable

from adapters.base import VLMAdapter


def _load_llava(model: str | None, dtype: str, device: str, **_: object) -> VLMAdapter:
    from adapters.llava import DEFAULT_MODEL, LlavaAdapter

    return LlavaAdapter.load(model or DEFAULT_MODEL, dtype=dtype, device=device)


VLMS: dict[str, tuple[Callable[..., VLMAdapter], str]] = {
    "llava": (_load_llava, "LLaVA-1.5 (transformers LlavaForConditionalGeneration); default llava-hf/llava-1.5-7b-hf"),
}


def load_vlm(name: str, model: str | None, dtype: str, device: str, **options: object) -> VLMAdapter:
    if name not in VLMS:
        raise KeyError(f"unknown --vlm {name!r}; available: {', '.join(VLMS)}")
    return VLMS[name][0](model, dtype, device, **options)

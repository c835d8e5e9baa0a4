"""Which transformers attention implementations can score with the engine's packed-option mask.

The engine's `extend` passes a 4D additive mask [R, 1, T, P+T]: each packed option sees the real prefix
tokens and only its own earlier tokens. An implementation that cannot take that mask would let options
see each other and return wrong scores without an error, so the adapters refuse it.
"""

from __future__ import annotations

from typing import Any

SUPPORTED = ("sdpa", "eager")
DEFAULT = "sdpa"
WHY_NOT = {
    "flash_attention": "FlashAttention kernels take only a 2D padding mask, not the engine's per-option 4D mask",
    "flex_attention": "not verified with the engine's 4D additive mask; on CPU (torch 2.14.1) its compiled "
    "kernel aborted the process",
    "paged": "paged attention is for continuous-batching generation, not cached prefix scoring",
}


class UnsupportedAttention(ValueError):
    """An `attn_implementation` that cannot apply the engine's 4D mask."""


def check_attn_implementation(name: str | None, where: str = "attn_implementation") -> str:
    """`name` if the engine can score through it (None means transformers' default, sdpa); else raise."""
    if name is None or name in SUPPORTED:
        return name or DEFAULT
    reason = next((why for key, why in WHY_NOT.items() if key in name), "not one the engine was tested with")
    raise UnsupportedAttention(f"{where}={name!r}: {reason}. Use one of: {', '.join(SUPPORTED)}.")


def model_attn_implementation(model: Any) -> str | None:
    """The attention implementation the decoder of a (possibly peft-wrapped, possibly multimodal) model uses."""
    config = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return getattr(text, "_attn_implementation", None)

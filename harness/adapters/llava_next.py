"""LLaVA-NeXT / LLaVA-1.6 (transformers `LlavaNextForConditionalGeneration`: CLIP ViT-L/336 + an LLM).

Any-resolution tiling (`harness.adapters.anyres`); the vision tower is LLaVA-1.5's CLIP ViT-L/14-336, so every
checkpoint format `--vlm llava` accepts swaps in unchanged (tower kind `clip_vit`).
"""

from __future__ import annotations

from transformers import LlavaNextForConditionalGeneration

from harness.adapters.anyres import AnyResAdapter

# the Vicuna-7B release keeps LLaVA-1.5's language model and conversation format
DEFAULT_MODEL = "llava-hf/llava-v1.6-vicuna-7b-hf"
FALLBACK_TEMPLATE = "USER: <image>\n{instruction} ASSISTANT:"


class LlavaNextAdapter(AnyResAdapter):
    family = "llava_next"
    model_class = LlavaNextForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = FALLBACK_TEMPLATE

"""Qwen3-VL (transformers `Qwen3VLForConditionalGeneration`): Qwen2.5-VL's scoring (`qwen2_5_vl`) on Qwen3-VL's model.

What differs is inside the model: 16-px patches (one `<|image_pad|>` per 32x32 px), a learned position table beside
the 2-D rotary, DeepStack (three intermediate ViT features added to the first LLM layers at the image positions,
during the prefill only: continuation tokens are text) and interleaved M-RoPE. Prompt positions still come from the
model's own `get_rope_index`, continuation tokens sit at sequence position + rope delta (`harness.adapters.mrope`).
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen3VLForConditionalGeneration

from harness.adapters.qwen2_5_vl import Qwen2_5_VLAdapter

DEFAULT_MODEL = "Qwen/Qwen3-VL-8B-Instruct"
# the published chat template's rendering: no default system turn
FALLBACK_TEMPLATE = (
    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{instruction}<|im_end|>\n<|im_start|>assistant\n"
)


class Qwen3VLAdapter(Qwen2_5_VLAdapter):
    family = "qwen3_vl"
    model_class = Qwen3VLForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = FALLBACK_TEMPLATE

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["image_tokens"] = "per image size (dynamic resolution, one token per 32x32 px)"
        return info

    def model_facts(self) -> dict[str, Any]:
        v = self.model.config.vision_config
        rope = self.model.config.get_text_config().rope_parameters
        return {
            "position_encoding": f"interleaved M-RoPE (mrope_section {rope.get('mrope_section')})",
            "vision_blocks": v.depth,
            "deepstack_visual_indexes": list(v.deepstack_visual_indexes),
            "num_position_embeddings": v.num_position_embeddings,
        }

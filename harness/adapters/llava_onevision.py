"""LLaVA-OneVision (transformers `LlavaOnevisionForConditionalGeneration`: SigLIP-SO400M/384 + Qwen2).

Any-resolution tiling (`harness.adapters.anyres`), Qwen2 chat format. The vision tower is a `SiglipVisionModel`
with 26 blocks (SigLIP-SO400M's 27 without the last): SigLIP checkpoints in the HF or open_clip/timm layouts
swap in (`harness.adapters.checkpoints`, tower kind `siglip_vit`), a 27-block one losing its last block.
"""

from __future__ import annotations

from transformers import LlavaOnevisionForConditionalGeneration

from harness.adapters.anyres import AnyResAdapter

DEFAULT_MODEL = "llava-hf/llava-onevision-qwen2-7b-ov-hf"
# the model card's chat format (Qwen2 <|im_start|> turns, image before the text)
FALLBACK_TEMPLATE = "<|im_start|>user <image>\n{instruction}<|im_end|>\n<|im_start|>assistant\n"


class LlavaOnevisionAdapter(AnyResAdapter):
    family = "llava_onevision"
    model_class = LlavaOnevisionForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = FALLBACK_TEMPLATE
    # the answer follows "<|im_start|>assistant\n" directly: the newline moves into every option (lm-eval's
    # rule) and no space is inserted before it
    target_delimiter = ""

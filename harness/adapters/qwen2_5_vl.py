"""Qwen2.5-VL (transformers `Qwen2_5_VLForConditionalGeneration`): its own ViT, dynamic resolution, M-RoPE.

The processor resizes each image to multiples of 28 px between `min_pixels` and `max_pixels` (aspect ratio
kept) and gives one `<|image_pad|>` token per 28x28 px (2x2 merged 14-px patches), so the count depends on the
image size (`AnyResAdapter`'s per-size probe). The LLM takes three-part M-RoPE positions (`harness.adapters.mrope`):
the prefill passes the model's own `get_rope_index` positions, and `extend` gives continuation tokens their
sequence position plus the row's rope delta. The vision tower is `model.visual` (patch embedding, blocks with
2-D rotary and window attention, patch merger); its HF safetensors swap in (`checkpoints.hf_qwen_vit`).
Original Qwen-VL (remote code only) is not supported.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image
from transformers import Qwen2_5_VLForConditionalGeneration

from harness.adapters.anyres import AnyResAdapter
from harness.adapters.attention import check_attn_implementation, model_attn_implementation
from harness.adapters.base import Prefix
from harness.adapters.hf_cache import additive_mask, greedy_config, left_pad, select_cache_rows
from harness.adapters.mrope import MRopePrefix, extend_positions, prompt_positions, token_types

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"
# the published chat template's rendering (system turn, then the image before the text)
FALLBACK_TEMPLATE = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "<|vision_start|><|image_pad|><|vision_end|>{instruction}<|im_end|>\n<|im_start|>assistant\n"
)


class Qwen2_5_VLAdapter(AnyResAdapter):
    family = "qwen2_5_vl"
    model_class = Qwen2_5_VLForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = FALLBACK_TEMPLATE
    # the answer follows "<|im_start|>assistant\n" directly (lm-eval's rule moves the newline into no option)
    target_delimiter = ""

    def image_inputs(self, images: list[Image.Image]) -> dict[str, torch.Tensor]:
        """Flattened patches of all images [sum of patches, C * T * 14 * 14] and each image's (t, h, w) grid."""
        out = self.processor.image_processor(images, return_tensors="pt")
        return {
            "pixel_values": out["pixel_values"].to(self.device, self.dtype),
            "image_grid_thw": out["image_grid_thw"].to(self.device),
        }

    # -- scoring -------------------------------------------------------------------------------
    @torch.inference_mode()
    def prefill(self, images: list[Image.Image], contexts: list[list[int]]) -> Prefix:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        inputs = self.image_inputs(images)
        pos, deltas = prompt_positions(self.model, ids, mask, inputs["image_grid_thw"], self.image_token_id)
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1, **inputs
        )
        last = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
        return MRopePrefix(last, out.cache, mask, mask.sum(-1), rope_deltas=deltas)

    @torch.inference_mode()
    def extend(
        self, prefix: Prefix, rows: torch.Tensor, input_ids: torch.Tensor, positions: torch.Tensor, attend: torch.Tensor
    ) -> torch.Tensor:
        check_attn_implementation(model_attn_implementation(self.model), where="the model's attn_implementation")
        rows = rows.to(self.device)
        n = prefix.attention_mask.shape[0]
        everyone = rows.numel() == n and bool((rows == torch.arange(n, device=self.device)).all())
        cache = prefix.cache if everyone else select_cache_rows(prefix.cache, rows)
        pos = extend_positions(prefix, rows, positions.to(self.device))
        mask = additive_mask(prefix.attention_mask.index_select(0, rows), attend.to(self.device), self.dtype)
        out = self.model(
            input_ids=input_ids.to(self.device), attention_mask=mask, position_ids=pos, cache=cache, use_cache=True
        )
        return torch.log_softmax(out.logits.float(), dim=-1)

    @torch.inference_mode()
    def full_logprobs(self, image: Image.Image, ids: list[int], n_context: int | None = None) -> torch.Tensor:
        """One plain transformers forward: the model computes its own M-RoPE positions from the token types."""
        x = torch.tensor([ids], device=self.device)
        out = self.model(
            input_ids=x,
            attention_mask=torch.ones_like(x),
            mm_token_type_ids=token_types(x, self.image_token_id),
            **self.image_inputs([image]),
        )
        return torch.log_softmax(out.logits[0].float(), dim=-1)

    def _forward(
        self, images: list[Image.Image], ids: torch.Tensor, mask: torch.Tensor, contexts: list[list[int]], **kwargs: Any
    ) -> Any:
        types = token_types(ids, self.image_token_id)
        return self.model(
            input_ids=ids, attention_mask=mask, mm_token_type_ids=types, **self.image_inputs(images), **kwargs
        )

    @torch.inference_mode()
    def generate(self, images: list[Image.Image], contexts: list[list[int]], max_new_tokens: int) -> list[str]:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        self.model.model.rope_deltas = None  # transformers keeps the last call's deltas on the model
        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            mm_token_type_ids=token_types(ids, self.image_token_id),
            **self.image_inputs(images),
            generation_config=greedy_config(max_new_tokens, self.pad_id, self.tokenizer.eos_token_id),
        )
        return [t.strip() for t in self.tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)]

    # -- encoder swap and record ---------------------------------------------------------------
    @property
    def vision_tower(self) -> torch.nn.Module:
        return self.model.model.visual

    def describe(self) -> dict[str, Any]:
        info = super(AnyResAdapter, self).describe()
        ip = self.processor.image_processor
        info["image_tokens"] = "per image size (dynamic resolution, one token per 28x28 px)"
        info["image_tokens_by_size"] = {f"{w}x{h}": n for (w, h), n in sorted(self._counts.items())}
        info["min_pixels"], info["max_pixels"] = ip.size["shortest_edge"], ip.size["longest_edge"]
        return info

    def model_facts(self) -> dict[str, Any]:
        v = self.model.config.vision_config
        return {
            "position_encoding": "M-RoPE (mrope_section "
            f"{self.model.config.get_text_config().rope_parameters.get('mrope_section')})",
            "vision_blocks": v.depth,
            "full_attention_blocks": list(v.fullatt_block_indexes),
            "window_size": v.window_size,
        }

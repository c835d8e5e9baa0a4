"""BLIP-2 (transformers `Blip2ForConditionalGeneration`, EVA ViT-g + Q-Former + OPT) behind the adapter contract.

The processor puts `num_query_tokens` image placeholders before BOS and the prompt (no chat format: BLIP-2's
prompts are plain text, "Question: {} Answer:"); the Q-Former's query outputs fill those positions. The KV cache
is the language model's, so options are scored from it exactly as for LLaVA. The vision tower is an EVA ViT-g
(`Blip2VisionModel`, 39 blocks at 224 px): EVA-CLIP checkpoints swap in (tower kind `eva_vit`), a 40-block
EVA-CLIP-g losing its last block; `post_layernorm` is BLIP-2's ln_vision and stays as it is.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image
from transformers import Blip2ForConditionalGeneration

from harness.adapters.base import Prefix
from harness.adapters.hf_cache import (
    extend_from_prefix,
    greedy_config,
    left_pad,
    positions_from_mask,
)
from harness.adapters.llava import LlavaAdapter
from harness.errors import InvalidInput

DEFAULT_MODEL = "Salesforce/blip2-opt-2.7b"


class Blip2Adapter(LlavaAdapter):
    family = "blip2"
    model_class = Blip2ForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = "{instruction}"

    def __init__(self, model: torch.nn.Module, processor: Any, **kwargs: Any):
        if not model.config.use_decoder_only_language_model:
            raise InvalidInput(
                f"--vlm {self.family}: the language model is {model.config.text_config.model_type}, an "
                f"encoder-decoder (the Flan-T5 releases); only decoder-only ones (OPT, Vicuna) are "
                f"supported"
            )
        super().__init__(model, processor, **kwargs)

    def format_prompt(self, instruction: str) -> str:
        """BLIP-2 has no chat format: the prompt is the task's text as is (the task template adds "Question:")."""
        return instruction

    def _count_image_tokens(self) -> int:
        return int(self.model.config.num_query_tokens)

    def encode(self, text: str, image: Image.Image | None = None) -> list[int]:
        """The processor's layout: the query placeholders, then the tokenized prompt (BOS included)."""
        return [self.image_token_id] * self.image_tokens + self.tokenizer(text, add_special_tokens=True).input_ids

    # -- scoring (the forward is LLaVA's `_forward`; InstructBLIP adds the Q-Former's prompt) ----
    @torch.inference_mode()
    def prefill(self, images: list[Image.Image], contexts: list[list[int]]) -> Prefix:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        out = self._forward(
            images, ids, mask, contexts, position_ids=positions_from_mask(mask), use_cache=True, logits_to_keep=1
        )
        last = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
        return Prefix(last, out.language_model_outputs.cache, mask, mask.sum(-1))

    @torch.inference_mode()
    def extend(
        self, prefix: Prefix, rows: torch.Tensor, input_ids: torch.Tensor, positions: torch.Tensor, attend: torch.Tensor
    ) -> torch.Tensor:
        """Continuation tokens need the language model alone: the image lives in the prefix cache."""
        return extend_from_prefix(
            self.model.language_model, prefix, rows, input_ids, positions, attend, self.dtype, self.device
        )

    @torch.inference_mode()
    def full_logprobs(self, image: Image.Image, ids: list[int], n_context: int | None = None) -> torch.Tensor:
        x = torch.tensor([ids], device=self.device)
        out = self._forward([image], x, torch.ones_like(x), [ids[:n_context] if n_context else ids])
        return torch.log_softmax(out.logits[0].float(), dim=-1)

    @torch.inference_mode()
    def generate(self, images: list[Image.Image], contexts: list[list[int]], max_new_tokens: int) -> list[str]:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        config = greedy_config(max_new_tokens, self.pad_id, self.tokenizer.eos_token_id)
        gen = self.model.generate(
            input_ids=ids, attention_mask=mask, generation_config=config, **self._generate_inputs(images, contexts)
        )
        if gen.shape[1] >= ids.shape[1] and torch.equal(gen[:, : ids.shape[1]], ids):
            gen = gen[:, ids.shape[1] :]  # the prompt is echoed back
        return [t.strip() for t in self.tokenizer.batch_decode(gen, skip_special_tokens=True)]

    def _generate_inputs(self, images: list[Image.Image], contexts: list[list[int]]) -> dict[str, torch.Tensor]:
        return self.image_inputs(images)

    # -- encoder swap and record ---------------------------------------------------------------
    @property
    def vision_tower(self) -> torch.nn.Module:
        return self.model.vision_model

    def model_facts(self) -> dict[str, Any]:
        return {"language_model": self.model.config.text_config.model_type}

"""InstructBLIP (transformers `InstructBlipForConditionalGeneration`): BLIP-2 whose Q-Former also reads the prompt.

The Q-Former reads the prompt text exactly as the processor gives it (`qformer_tokenizer(prompt)`), so the visual
prefix depends on the question; it never sees the option being scored. The engine still computes the prefix once
per item: `prefill` recovers each item's prompt from its context ids (the query placeholders and BOS dropped,
the rest decoded, which the tests check equals the processor's text), and the plain-forward reference passes the
prompt length (`n_context`). Everything else, including the EVA ViT-g swap, is BLIP-2's.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image
from transformers import InstructBlipForConditionalGeneration

from harness.adapters.blip2 import Blip2Adapter

DEFAULT_MODEL = "Salesforce/instructblip-vicuna-7b"


class InstructBlipAdapter(Blip2Adapter):
    family = "instructblip"
    model_class = InstructBlipForConditionalGeneration
    default_model = DEFAULT_MODEL

    def prompt_text(self, context: list[int]) -> str:
        """The prompt a context's ids were encoded from (placeholders and special tokens dropped)."""
        ids = [t for t in context if t != self.image_token_id]
        return self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def qformer_inputs(self, contexts: list[list[int]]) -> dict[str, torch.Tensor]:
        """The Q-Former's ids for each item's prompt, right-padded (BERT positions are absolute), with the mask;
        cut to the positions the Q-Former embeds (LAVIS truncates its prompt too; the processor does not, and a
        longer prompt would fail inside the model), on the tokenizer's truncation side."""
        enc = self.processor.qformer_tokenizer(
            [self.prompt_text(c) for c in contexts],
            padding=True,
            truncation=True,
            max_length=self.model.config.qformer_config.max_position_embeddings,
            return_tensors="pt",
        )
        return {
            "qformer_input_ids": enc["input_ids"].to(self.device),
            "qformer_attention_mask": enc["attention_mask"].to(self.device),
        }

    def _forward(
        self, images: list[Image.Image], ids: torch.Tensor, mask: torch.Tensor, contexts: list[list[int]], **kwargs: Any
    ) -> Any:
        return self.model(
            input_ids=ids, attention_mask=mask, **self.image_inputs(images), **self.qformer_inputs(contexts), **kwargs
        )

    def _generate_inputs(self, images: list[Image.Image], contexts: list[list[int]]) -> dict[str, torch.Tensor]:
        return {**self.image_inputs(images), **self.qformer_inputs(contexts)}

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["qformer_reads"] = "the prompt text (qformer_tokenizer), never the scored option"
        info["qformer_max_tokens"] = self.model.config.qformer_config.max_position_embeddings
        return info

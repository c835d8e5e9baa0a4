"""Gemma 4 (transformers `Gemma4ForConditionalGeneration`) behind the engine's adapter contract: image + text.

The vision encoder (2-D axial rotary, patches pooled into soft tokens) gives each image as many `<|image|>`
positions as the processor's aspect-preserving resize allows (up to 280), between `<|image>` and `<image|>`.
The text model interleaves sliding-window and full-attention layers, and the larger Gemma 4 models
(`use_bidirectional_attention="vision"`) let an image's soft tokens see each other inside the causal mask on the
sliding layers. So that every mask is exact:

- the prefix cache keeps every layer's keys whole (a plain `DynamicCache`: no sliding-window truncation), and
  `extend` passes one 4D mask per layer type, the sliding one also hiding keys a window or more behind the query
  (transformers' `sliding_window_overlay` rule, on positions);
- every forward carries `mm_token_type_ids` (1 on image positions), from which transformers builds the
  bidirectional image blocks when the config asks for them; continuation tokens are text, causal on all layers.

Audio (the E2B/E4B audio tower) is not evaluated: a prompt carrying audio markers is refused in one line.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image
from transformers import Gemma4ForConditionalGeneration
from transformers.cache_utils import DynamicCache

from harness.adapters.attention import check_attn_implementation, model_attn_implementation
from harness.adapters.base import Prefix
from harness.adapters.hf_cache import (
    additive_mask,
    greedy_config,
    left_pad,
    positions_from_mask,
    right_pad,
    select_cache_rows,
)
from harness.adapters.llava import LlavaAdapter
from harness.errors import InvalidInput

DEFAULT_MODEL = "google/gemma-4-E2B-it"
AUDIO_MARKERS = ("<|audio|>", "<|audio>", "<audio|>")


class Gemma4Adapter(LlavaAdapter):
    family = "gemma4"
    model_class = Gemma4ForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = "<bos><|turn>user\n\n\n<|image|>\n\n{instruction}<turn|>\n<|turn>model\n"
    # the answer follows the generation prompt ("<|turn>model\n<|channel>thought\n<channel|>") directly
    target_delimiter = ""

    def __init__(self, model: torch.nn.Module, processor: Any, **kwargs: Any):
        self._counts: dict[tuple[int, int], int] = {}
        super().__init__(model, processor, **kwargs)
        cfg = model.config
        self.boi_id, self.eoi_id = cfg.boi_token_id, cfg.eoi_token_id
        self.audio_ids = {i for i in (cfg.audio_token_id, cfg.boa_token_id, cfg.eoa_token_index) if i is not None}
        self.window = cfg.get_text_config().sliding_window
        # a reply ends with <turn|> (the chat template's end of turn) or <eos>
        self.stop_ids = [self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<turn|>")]

    # -- prompt and tokens ---------------------------------------------------------------------
    def _count_image_tokens(self) -> int:
        return self.image_token_count(Image.new("RGB", (8, 8)))

    def image_token_count(self, image: Image.Image | None) -> int:
        """Soft tokens for an image of this size (the processor's aspect-preserving resize decides)."""
        if image is None:
            raise ValueError("gemma4: the number of image tokens depends on the image size; encode needs the image")
        if image.size not in self._counts:
            out = self.processor.image_processor([Image.new("RGB", image.size)], return_tensors="pt")
            self._counts[image.size] = int(out["num_soft_tokens_per_image"][0])
        return self._counts[image.size]

    def encode(self, text: str, image: Image.Image | None = None) -> list[int]:
        """The chat template's text (it carries `<bos>`) with each `<|image|>` expanded to `<|image>`, the image's
        soft tokens and `<image|>`, as the processor does."""
        if any(m in text for m in AUDIO_MARKERS):
            raise InvalidInput("--vlm gemma4: audio inputs are not supported (the harness evaluates image + text)")
        ids = self.tokenizer(text, add_special_tokens=False).input_ids
        if self.image_token_id not in ids:
            return ids
        n = self.image_token_count(image)
        out: list[int] = []
        for t in ids:
            out.extend([self.boi_id, *[t] * n, self.eoi_id] if t == self.image_token_id else [t])
        return out

    def image_inputs(self, images: list[Image.Image]) -> dict[str, torch.Tensor]:
        """Patches [B, max patches, 3*16*16] (padded for the smaller images) and their (x, y) positions (-1: pad)."""
        out = self.processor.image_processor(images, return_tensors="pt")
        return {
            "pixel_values": out["pixel_values"].to(self.device, self.dtype),
            "image_position_ids": out["image_position_ids"].to(self.device),
        }

    def _mm_types(self, ids: torch.Tensor) -> torch.Tensor:
        if self.audio_ids and bool(torch.isin(ids, torch.tensor(sorted(self.audio_ids), device=ids.device)).any()):
            raise InvalidInput("--vlm gemma4: audio inputs are not supported (the harness evaluates image + text)")
        return (ids == self.image_token_id).long()

    # -- scoring -------------------------------------------------------------------------------
    @torch.inference_mode()
    def prefill(self, images: list[Image.Image], contexts: list[list[int]]) -> Prefix:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions_from_mask(mask),
            mm_token_type_ids=self._mm_types(ids),
            cache=DynamicCache(),  # whole keys on every layer: the sliding window is applied by the masks
            use_cache=True,
            logits_to_keep=1,
            **self.image_inputs(images),
        )
        last = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
        return Prefix(last, out.cache, mask, mask.sum(-1))

    @torch.inference_mode()
    def extend(
        self, prefix: Prefix, rows: torch.Tensor, input_ids: torch.Tensor, positions: torch.Tensor, attend: torch.Tensor
    ) -> torch.Tensor:
        check_attn_implementation(model_attn_implementation(self.model), where="the model's attn_implementation")
        dev = self.device
        rows = rows.to(dev)
        n = prefix.attention_mask.shape[0]
        everyone = rows.numel() == n and bool((rows == torch.arange(n, device=dev)).all())
        cache = prefix.cache if everyone else select_cache_rows(prefix.cache, rows)
        prefix_mask = prefix.attention_mask.index_select(0, rows)
        lengths = prefix.lengths.to(dev).index_select(0, rows)
        pos = lengths[:, None] + positions.to(dev)
        full = additive_mask(prefix_mask, attend.to(dev), self.dtype)
        out = self.model(
            input_ids=input_ids.to(dev),
            attention_mask={"full_attention": full, "sliding_attention": self._windowed(full, prefix_mask, pos)},
            position_ids=pos,
            cache=cache,
            use_cache=True,
        )
        return torch.log_softmax(out.logits.float(), dim=-1)

    def _windowed(self, full: torch.Tensor, prefix_mask: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """`full` [R, 1, T, P+T] with keys at `window` or more positions behind the query hidden."""
        key_pos = torch.cat([positions_from_mask(prefix_mask), pos], dim=-1)  # left padding: real keys 0..len-1
        far = (pos[:, :, None] - key_pos[:, None, :]) >= self.window
        return full.masked_fill(far[:, None], torch.finfo(full.dtype).min)

    @torch.inference_mode()
    def full_logprobs(self, image: Image.Image, ids: list[int], n_context: int | None = None) -> torch.Tensor:
        x = torch.tensor([ids], device=self.device)
        out = self.model(
            input_ids=x,
            attention_mask=torch.ones_like(x),
            mm_token_type_ids=self._mm_types(x),
            **self.image_inputs([image]),
        )
        return torch.log_softmax(out.logits[0].float(), dim=-1)

    def train_logits(self, images: list[Image.Image], sequences: list[list[int]], n_context: list[int]) -> torch.Tensor:
        ids, mask = right_pad(sequences, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        out = self.model(
            input_ids=ids, attention_mask=mask, mm_token_type_ids=self._mm_types(ids), **self.image_inputs(images)
        )
        return out.logits

    @torch.inference_mode()
    def generate(self, images: list[Image.Image], contexts: list[list[int]], max_new_tokens: int) -> list[str]:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            mm_token_type_ids=self._mm_types(ids),
            **self.image_inputs(images),
            generation_config=greedy_config(max_new_tokens, self.pad_id, self.stop_ids),
        )
        return [t.strip() for t in self.tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)]

    # -- encoder swap and record ---------------------------------------------------------------
    @property
    def vision_tower(self) -> torch.nn.Module:
        return self.model.model.vision_tower

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["image_tokens"] = "per image size (aspect-preserving resize, at most max_soft_tokens)"
        info["image_tokens_by_size"] = {f"{w}x{h}": n for (w, h), n in sorted(self._counts.items())}
        return info

    def model_facts(self) -> dict[str, Any]:
        text = self.model.config.get_text_config()
        ip = self.processor.image_processor
        return {
            "sliding_window": text.sliding_window,
            "layer_types": list(text.layer_types),
            "use_bidirectional_attention": text.use_bidirectional_attention,
            "num_kv_shared_layers": text.num_kv_shared_layers,
            "max_soft_tokens": ip.max_soft_tokens,
            "pooling_kernel_size": ip.pooling_kernel_size,
        }

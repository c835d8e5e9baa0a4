"""LLaVA (transformers `LlavaForConditionalGeneration`) behind the engine's adapter contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import transformers
from PIL import Image
from transformers import AutoProcessor, LlavaForConditionalGeneration

from harness.adapters.attention import DEFAULT as DEFAULT_ATTENTION
from harness.adapters.attention import check_attn_implementation
from harness.adapters.base import Prefix, VLMAdapter, resolve_device
from harness.adapters.hf_cache import extend_from_prefix, greedy_config, left_pad, positions_from_mask, right_pad
from harness.adapters.hf_loading import check_model_dir, load_complete
from harness.adapters.model_types import MODEL_TYPES
from harness.adapters.tokenizer_fit import check_tokenizer_fits
from harness.adapters.weights import resolve_model_dir, weights_fingerprint
from harness.errors import InvalidInput

DEFAULT_MODEL = "llava-hf/llava-1.5-7b-hf"
FALLBACK_TEMPLATE = "USER: <image>\n{instruction} ASSISTANT:"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class LlavaAdapter(VLMAdapter):
    """LLaVA-1.5; the any-resolution LLaVA families (`harness.adapters.anyres`) subclass it."""

    family = "llava"
    model_class: type = LlavaForConditionalGeneration
    default_model = DEFAULT_MODEL
    fallback_template = FALLBACK_TEMPLATE

    def __init__(self, model: torch.nn.Module, processor: Any, model_id: str = "", model_dir: Path | None = None):
        self.model = model.eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.model_id = model_id
        self.model_dir = model_dir
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.image_token_id = model.config.image_token_id
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id or 0
        self.image_tokens = self._count_image_tokens()
        self.swap_report: Any = None

    @classmethod
    def load(
        cls,
        model: str | None = None,
        dtype: str = "float32",
        device: str = "auto",
        attn_implementation: str = DEFAULT_ATTENTION,
    ) -> LlavaAdapter:
        model = model or cls.default_model
        if dtype not in DTYPES:
            raise InvalidInput(f"--dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
        check_attn_implementation(attn_implementation)
        model_dir = resolve_model_dir(model)
        check_model_dir(model_dir, "--model", MODEL_TYPES[cls.family])
        dev = resolve_device(device)
        transformers.utils.logging.disable_progress_bar()
        processor = AutoProcessor.from_pretrained(model_dir)  # checked against the config before the weights load
        cls.check_fits(model_dir, processor, cls.model_class.config_class.from_pretrained(model_dir))
        net = load_complete(
            cls.model_class, model_dir, "--model", dtype=DTYPES[dtype], attn_implementation=attn_implementation
        ).to(dev)
        return cls(net, processor, model_id=model, model_dir=model_dir)

    @classmethod
    def check_fits(cls, model_dir: Path, processor: Any, config: Any) -> None:
        """Refuse a processor that does not fit the model's config, before any weight loads."""
        check_tokenizer_fits(
            model_dir,
            processor.tokenizer,
            config.get_text_config().vocab_size,
            config.image_token_id,
            str(getattr(processor, "image_token", "<image>")),  # BLIP processors hold an AddedToken
        )

    # -- prompt and tokens ---------------------------------------------------------------------
    def format_prompt(self, instruction: str) -> str:
        if getattr(self.processor, "chat_template", None):
            conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": instruction}]}]
            return self.processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        return self.fallback_template.format(instruction=instruction)

    def encode(self, text: str, image: Image.Image | None = None) -> list[int]:
        """Tokenize with the image placeholder as one token, then expand it as the processor does."""
        ids = self.tokenizer(text, add_special_tokens=True).input_ids
        if self.image_token_id not in ids:
            return ids
        n = self.image_token_count(image)
        out: list[int] = []
        for t in ids:
            out.extend([t] * n if t == self.image_token_id else [t])
        return out

    def image_token_count(self, image: Image.Image | None) -> int:
        """Placeholder positions per image: fixed for LLaVA-1.5."""
        return self.image_tokens

    def _count_image_tokens(self) -> int:
        probe = Image.new("RGB", (8, 8))
        ids = self.processor(text="<image>", images=probe, return_tensors="pt").input_ids[0]
        return int((ids == self.image_token_id).sum())

    def pixel_values(self, images: list[Image.Image]) -> torch.Tensor:
        pv = self.processor.image_processor(images, return_tensors="pt")["pixel_values"]
        return pv.to(self.device, self.dtype)

    def image_inputs(self, images: list[Image.Image]) -> dict[str, torch.Tensor]:
        """The image keyword arguments of the model's forward and generate."""
        return {"pixel_values": self.pixel_values(images)}

    # -- scoring -------------------------------------------------------------------------------
    @torch.inference_mode()
    def prefill(self, images: list[Image.Image], contexts: list[list[int]]) -> Prefix:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions_from_mask(mask),
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
        return extend_from_prefix(self.model, prefix, rows, input_ids, positions, attend, self.dtype, self.device)

    @torch.inference_mode()
    def full_logprobs(self, image: Image.Image, ids: list[int], n_context: int | None = None) -> torch.Tensor:
        x = torch.tensor([ids], device=self.device)
        out = self.model(input_ids=x, attention_mask=torch.ones_like(x), **self.image_inputs([image]))
        return torch.log_softmax(out.logits[0].float(), dim=-1)

    def _forward(
        self, images: list[Image.Image], ids: torch.Tensor, mask: torch.Tensor, contexts: list[list[int]], **kwargs: Any
    ) -> Any:
        return self.model(input_ids=ids, attention_mask=mask, **self.image_inputs(images), **kwargs)

    def train_logits(self, images: list[Image.Image], sequences: list[list[int]], n_context: list[int]) -> torch.Tensor:
        ids, mask = right_pad(sequences, self.pad_id)
        contexts = [s[:n] for s, n in zip(sequences, n_context)]
        return self._forward(images, ids.to(self.device), mask.to(self.device), contexts).logits

    @torch.inference_mode()
    def generate(self, images: list[Image.Image], contexts: list[list[int]], max_new_tokens: int) -> list[str]:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            **self.image_inputs(images),
            generation_config=greedy_config(max_new_tokens, self.pad_id, self.tokenizer.eos_token_id),
        )
        return [t.strip() for t in self.tokenizer.batch_decode(out[:, ids.shape[1] :], skip_special_tokens=True)]

    # -- encoder swap and record ---------------------------------------------------------------
    @property
    def vision_tower(self) -> torch.nn.Module:
        return self.model.model.vision_tower

    def describe(self) -> dict[str, Any]:
        cfg = self.model.config
        return {
            "vlm": self.family,
            "model": self.model_id,
            "model_dir": str(self.model_dir) if self.model_dir else None,
            "weights_sha256": weights_fingerprint(self.model_dir) if self.model_dir else None,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device),
            "attn_implementation": getattr(cfg, "_attn_implementation", None),
            "prompt_template": self.format_prompt("{instruction}"),
            "target_delimiter": self.target_delimiter,
            "image_tokens": self.image_tokens,
            **self.model_facts(),
            "transformers": transformers.__version__,
        }

    def model_facts(self) -> dict[str, Any]:
        """What this family adds to `describe` (how the image features are taken)."""
        cfg = self.model.config
        return {
            "vision_feature_layer": cfg.vision_feature_layer,
            "vision_feature_select_strategy": cfg.vision_feature_select_strategy,
        }

"""Chameleon (transformers `ChameleonForConditionalGeneration`) behind the engine's adapter contract.

Chameleon fuses early: a VQ-VAE (`model.model.vqmodel`) turns each 512 px crop into 1024 discrete codes, which
are ordinary tokens of the one decoder's vocabulary, written between `<racm3:break>` and `<eoss>`. There is no
continuous vision tower and no projector, so nothing an `--encoder` checkpoint could replace: the VQ-VAE is this
adapter's `vision_tower` only so the engine's reset between cells has something to snapshot, and it refuses swaps
and tuning in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image
from transformers import ChameleonForConditionalGeneration

from harness.adapters.llava import LlavaAdapter
from harness.adapters.tokenizer_fit import TokenizerMismatch, check_tokenizer_fits
from harness.errors import InvalidInput

DEFAULT_MODEL = "facebook/chameleon-7b"
NO_TOWER = (
    "--vlm chameleon has no continuous vision tower: it reads images as discrete codes of its VQ-VAE image "
    "tokenizer, which no --encoder checkpoint fits and the tuning methods cannot train"
)


class VQImageTokenizer(torch.nn.Module):
    """Chameleon's VQ-VAE shown as the adapter's vision tower: its weights can be snapshot and restored, but it has
    no ViT inside (`vision_model`, which the VLM tuning target asks for, refuses with the reason)."""

    def __init__(self, vqmodel: torch.nn.Module):
        super().__init__()
        self.vqmodel = vqmodel

    @property
    def vision_model(self) -> torch.nn.Module:
        raise InvalidInput(NO_TOWER)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The image's codes [B, 1024] (codebook indices, before the BPE mapping)."""
        return self.vqmodel.encode(pixel_values, return_dict=True).image_tokens.view(pixel_values.shape[0], -1)


def vq_codes(vq: Any) -> int:
    """Codes per image: the crop side over the encoder's 2^(levels - 1) downsampling, squared."""
    side = vq.resolution // 2 ** (len(vq.channel_multiplier) - 1)
    return side * side


def check_image_span(model_dir: Any, processor: Any, config: Any) -> None:
    """The processor writes as many placeholders as the VQ-VAE gives codes, the markers exist, and the crop is the
    VQ-VAE's resolution (else the forward fails deep inside with a count mismatch)."""
    tok = processor.tokenizer
    for name in (processor.image_start_token, processor.image_end_token):
        if tok.convert_tokens_to_ids(name) in (None, tok.unk_token_id):
            raise TokenizerMismatch(f"the tokenizer in {model_dir} has no image marker {name!r}")
    codes = vq_codes(config.vq_config)
    crop = processor.image_processor.crop_size
    if processor.image_seq_length != codes or crop["height"] != config.vq_config.resolution:
        raise TokenizerMismatch(
            f"{model_dir}: the processor writes {processor.image_seq_length} image tokens per "
            f"{crop['height']} px crop, but the VQ-VAE in config.json gives {codes} codes at "
            f"{config.vq_config.resolution} px"
        )


class ChameleonAdapter(LlavaAdapter):
    """Chameleon-7B/30B; the image is its `<racm3:break>` + codes + `<eoss>` span, the prompt ends with the
    processor's chat-mode separator (the tokenizer's sep token, `<reserved08706>`)."""

    family = "chameleon"
    model_class: type = ChameleonForConditionalGeneration
    default_model = DEFAULT_MODEL

    def __init__(self, model: torch.nn.Module, processor: Any, model_id: str = "", model_dir: Any = None):
        self.image_start_id = processor.image_start_token_id
        self.image_end_id = processor.image_end_token_id
        super().__init__(model, processor, model_id=model_id, model_dir=model_dir)
        self._tower = VQImageTokenizer(model.model.vqmodel)

    @classmethod
    def check_fits(cls, model_dir: Path, processor: Any, config: Any) -> None:
        check_tokenizer_fits(model_dir, processor.tokenizer, config.vocab_size, config.image_token_id)
        check_image_span(model_dir, processor, config)

    def format_prompt(self, instruction: str) -> str:
        """The processor's chat mode: the image, the instruction, then the sep token it appends."""
        return f"{self.processor.image_token}{instruction}{self.tokenizer.sep_token}"

    def encode(self, text: str, image: Image.Image | None = None) -> list[int]:
        """Tokenize with the placeholder as one token, then expand it as the processor does (markers included)."""
        ids = self.tokenizer(text, add_special_tokens=True).input_ids
        span = [self.image_start_id, *[self.image_token_id] * self.image_tokens, self.image_end_id]
        out: list[int] = []
        for t in ids:
            out.extend(span if t == self.image_token_id else [t])
        return out

    def _count_image_tokens(self) -> int:
        return int(self.processor.image_seq_length)

    @property
    def vision_tower(self) -> torch.nn.Module:
        return self._tower

    def swap_encoder(self, path: str, allow_partial: bool = False, interpolate_pos: bool = False) -> Any:
        raise InvalidInput(f"--encoder {path}: {NO_TOWER}")

    def model_facts(self) -> dict[str, Any]:
        vq = self.model.config.vq_config
        return {
            "image_tokenizer": "vq-vae",
            "vq_codebook": vq.num_embeddings,
            "vq_resolution": vq.resolution,
            "image_markers": [self.image_start_id, self.image_end_id],
        }

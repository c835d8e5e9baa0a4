"""transformers `FlavaModel` behind the `ClipModel` interface, tuned with FLAVA's image-text contrastive head.

Features as FLAVA's global contrastive loss reads them (`FlavaForPreTraining`): the CLS row of each encoder's
last hidden state (after its final LayerNorm) through `image_projection` / `text_projection`, scored with
`exp(logit_scale)`. The vision side (`visual`) is one module holding the image encoder and its projection, so its
state dict is in `FlavaModel` names (`image_model.*`, `image_projection.*`): the `hf_flava` checkpoint format,
the release layout the tune export writes and the tower `--encoder` swaps into. The image encoder is a ViT with
separate query/key/value Linears (`encoder.layer.N.attention.attention.*`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.adapters.checkpoints.flava import PRETRAINING_PREFIXES, flava_to_tower, is_unused
from harness.clip.models import Block, ClipModel, Projection
from harness.clip.tower_family import check_tower_keys


class FlavaVisionTower(nn.Module):
    """The image encoder and its contrastive projection, registered under their `FlavaModel` names."""

    def __init__(self, image_model: nn.Module, image_projection: nn.Linear):
        super().__init__()
        self.image_model = image_model
        self.image_projection = image_projection

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden = self.image_model(pixel_values=pixel_values).last_hidden_state
        return self.image_projection(hidden[:, 0])


class FlavaClip(ClipModel):
    family = "flava"

    def __init__(self, net: nn.Module, *args: Any, **kwargs: Any):
        super().__init__(net, *args, **kwargs)
        self.tower = FlavaVisionTower(net.image_model, net.image_projection)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.tower(pixels)

    def encode_text(self, tokens: Any) -> torch.Tensor:
        keep = ("input_ids", "attention_mask", "token_type_ids")
        tokens = {k: v.to(self.device) for k, v in dict(tokens).items() if k in keep}
        hidden = self.net.text_model(**tokens).last_hidden_state
        return self.net.text_projection(hidden[:, 0])

    @property
    def visual(self) -> nn.Module:
        return self.tower

    def vision_modules(self) -> list[nn.Module]:
        return [self.tower]

    def blocks(self) -> list[Block]:
        out = []
        for i, layer in enumerate(self.net.image_model.encoder.layer):
            att = layer.attention.attention
            projs = (att.query, att.key, att.value)
            out.append(
                Block(
                    index=i,
                    qkv=[(m, "weight") for m in projs],
                    qkv_bias=[(m, "bias") for m in projs if m.bias is not None],
                    heads=att.num_attention_heads,
                    fc1=layer.intermediate.dense,
                    fc2=layer.output.dense,
                    out_proj=layer.attention.output.dense,
                )
            )
        return out

    def projection(self) -> Projection:
        return Projection(self.net.image_projection, "weight", transposed=False)

    def text_fc1(self) -> list[nn.Linear]:
        return [layer.intermediate.dense for layer in self.net.text_model.encoder.layer]

    def release_state_dict(self) -> dict[str, torch.Tensor]:
        """`FlavaModel` names of the image encoder and projection (the `hf_flava` format)."""
        return {k: v.detach().clone() for k, v in self.tower.state_dict().items()}

    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        tower = flava_to_tower({k: v for k, v in sd.items() if not is_unused(k)})
        check_tower_keys(tower, self.tower.state_dict(), "a FLAVA ViT (image_model + image_projection)", "flava_vit")
        self.tower.load_state_dict(tower, strict=True)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "tower": "transformers FlavaImageModel + image_projection"}


def load_flava(model_dir: Path, spec: str, option: str = "--model") -> FlavaClip:
    """A `FlavaModel` or `FlavaForPreTraining` directory (weights, BERT tokenizer, `FlavaImageProcessor`) as a
    `FlavaClip`; of a pre-training checkpoint (facebook/flava-full) the codebook and the heads are not read."""
    import transformers
    from transformers import AutoTokenizer, FlavaImageProcessor, FlavaModel

    from harness.adapters.hf_loading import load_complete

    heads = [f"^{re.escape(p)}" for p in PRETRAINING_PREFIXES]
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()  # its load report would list every head tensor as unexpected
    try:
        net = load_complete(FlavaModel, model_dir, option, allow_unexpected=heads, dtype=torch.float32)
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
    tok = AutoTokenizer.from_pretrained(model_dir)
    max_len = min(int(tok.model_max_length), int(net.config.text_config.max_position_embeddings))
    size = int(net.config.image_config.image_size)
    if (Path(model_dir) / "preprocessor_config.json").is_file():
        proc = FlavaImageProcessor.from_pretrained(model_dir)
    else:  # FlavaImageProcessor's defaults are flava-full's (224 px, bicubic, OpenAI CLIP mean/std)
        proc = FlavaImageProcessor(size={"height": size, "width": size}, crop_size={"height": size, "width": size})

    def tokenize(texts: list[str]):
        return tok(texts, padding=True, max_length=max_len, truncation=True, return_tensors="pt")

    def transform(image):
        return proc(images=image, return_tensors="pt")["pixel_values"][0]

    return FlavaClip(net.eval(), tokenize, transform, size, tuple(proc.image_mean), tuple(proc.image_std), spec)

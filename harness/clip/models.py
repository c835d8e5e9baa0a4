"""The common CLIP interface the tuning methods see, for Hugging Face and open_clip models alike.

A `ClipModel` wraps the family's own module (`net`) and exposes: image/text encoders, the logit scale,
the vision tower's transformer blocks (q/k/v as one fused [3D, D] matrix or three [D, D] ones, fc1,
fc2, out-proj, layer norms), its projection, and the vision weights in open_clip / HF names.
`load_clip(spec)` builds one from a model spec (see `harness.clip.loading`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn

Transform = Callable[[Image.Image], torch.Tensor]


@dataclass
class Block:
    """One vision transformer block, as (module, parameter name) handles.

    `qkv` is one fused [3D, D] weight (rows q, k, v; heads contiguous within each) or three [D, D]
    weights in q, k, v order; `qkv_bias` lists the q/k/v bias parameters that exist.
    """

    index: int
    qkv: list[tuple[nn.Module, str]]
    qkv_bias: list[tuple[nn.Module, str]]
    heads: int
    fc1: nn.Linear
    fc2: nn.Linear
    out_proj: nn.Linear

    @property
    def fused(self) -> bool:
        return len(self.qkv) == 1

    @property
    def width(self) -> int:
        owner, name = self.qkv[0]
        return int(getattr(owner, name).shape[1])

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    def qkv_tensors(self) -> list[torch.Tensor]:
        return [getattr(m, n) for m, n in self.qkv]


def separate_qkv(att: nn.Module) -> tuple[list[tuple[nn.Module, str]], list[tuple[nn.Module, str]]]:
    """`Block.qkv` and `Block.qkv_bias` of an attention with separate `q_proj`/`k_proj`/`v_proj` Linears."""
    projs = (att.q_proj, att.k_proj, att.v_proj)
    return [(m, "weight") for m in projs], [(m, "bias") for m in projs if m.bias is not None]


@dataclass
class Projection:
    """The image projection weight. `transposed`: stored [in, out] (open_clip `proj`), else [out, in]."""

    owner: nn.Module
    name: str
    transposed: bool


class TunableTower(nn.Module, ABC):
    """The structure the tuning methods see: a vision tower's blocks, norms and weights inside a module `net`
    (a CLIP model, or a whole VLM whose LLM stays frozen: `harness.tune.vlm_model`)."""

    family: str = ""
    net: nn.Module
    spec: str = ""

    # -- structure -----------------------------------------------------------------------------
    @property
    @abstractmethod
    def visual(self) -> nn.Module:
        """The vision tower module (without the projection for HF)."""

    @abstractmethod
    def vision_modules(self) -> list[nn.Module]:
        """Modules whose parameters make up the vision side (tower + projection)."""

    @abstractmethod
    def blocks(self) -> list[Block]:
        """The vision transformer blocks in order."""

    @abstractmethod
    def projection(self) -> Projection | None:
        """The image projection (None when the tower has none that the objective reads)."""

    @abstractmethod
    def text_fc1(self) -> list[nn.Linear]:
        """fc1 of every text transformer block (SPU can edit them)."""

    def layer_norms(self) -> list[nn.LayerNorm]:
        """Every LayerNorm of the vision tower (pre/post norms and both norms of each block)."""
        seen: list[nn.LayerNorm] = []
        for mod in self.vision_modules():
            seen += [m for m in mod.modules() if isinstance(m, nn.LayerNorm)]
        return seen

    def vision_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """(name in `net`, parameter) for the vision side, names as `net.named_parameters()` gives them."""
        ids = {id(p) for mod in self.vision_modules() for p in mod.parameters()}
        return [(n, p) for n, p in self.net.named_parameters() if id(p) in ids]

    def parameter_names(self) -> dict[int, str]:
        return {id(p): n for n, p in self.net.named_parameters()}

    def freeze(self) -> None:
        for p in self.net.parameters():
            p.requires_grad_(False)

    def fixed_masks(self) -> dict[int, torch.Tensor]:
        """0/1 masks (by parameter id) of entries no method may change, e.g. EVA's k bias, zero by design."""
        return {}

    def skeleton(self) -> TunableTower:
        """A plain CPU copy holding the current vision weights (LoRA writes merged weights into it)."""
        import copy

        return copy.deepcopy(self).to("cpu")

    # -- weights in checkpoint names -----------------------------------------------------------
    @abstractmethod
    def release_state_dict(self) -> dict[str, torch.Tensor]:
        """The vision tower in open_clip `model.visual.state_dict()` names (the LoRSU release layout)."""

    @abstractmethod
    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        """Inverse of `release_state_dict` (strict)."""

    def hf_vision_model(self) -> nn.Module | None:
        """A transformers `CLIPVisionModelWithProjection` with these vision weights; None if no HF form."""
        return None

    def describe(self) -> dict[str, Any]:
        blocks = self.blocks()
        return {
            "family": self.family,
            "spec": self.spec,
            "image_size": self.image_size,
            "vision_layers": len(blocks),
            "vision_width": blocks[0].width if blocks else None,
            "vision_heads": blocks[0].heads if blocks else None,
        }

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device


class ClipModel(TunableTower):
    """A CLIP model behind one small interface; `net` is the family's own module."""

    def __init__(
        self,
        net: nn.Module,
        tokenizer: Callable[[list[str]], Any],
        eval_transform: Transform,
        image_size: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        spec: str = "",
    ):
        super().__init__()
        self.net = net
        self._tokenizer = tokenizer
        self.eval_transform = eval_transform
        self.image_size = image_size
        self.mean, self.std = tuple(mean), tuple(std)
        self.spec = spec

    # -- encoders ------------------------------------------------------------------------------
    @abstractmethod
    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """Projected, unnormalised image features [B, E]."""

    @abstractmethod
    def encode_text(self, tokens: Any) -> torch.Tensor:
        """Projected, unnormalised text features [B, E] from `tokenize`'s output."""

    def tokenize(self, texts: list[str]) -> Any:
        return self._tokenizer(texts)

    def logit_scale(self) -> torch.Tensor:
        """exp(learned log scale), the multiplier of the cosine similarities."""
        return self.net.logit_scale.exp()

    def logit_bias(self) -> torch.Tensor | None:
        """SigLIP's learned bias (its pairs are scored by a sigmoid loss); None for CLIP's softmax loss."""
        return None

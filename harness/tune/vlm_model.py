"""A VLM's vision tower as the tuning methods see it (`TunableTower`), inside the whole VLM whose projector and
LLM stay frozen.

Towers: transformers CLIP / SigLIP vision models (LLaVA-1.5, LLaVA-NeXT, LLaVA-OneVision; separate q/k/v),
EVA ViT-g as `Blip2VisionModel` (BLIP-2, InstructBLIP, MiniGPT-v2; one fused qkv whose k bias is zero by design
and stays so) and Qwen2.5-VL's own ViT (`blocks`: one fused qkv with a full bias, a gated SiLU MLP whose
`gate_proj` plays fc1's part and `down_proj` fc2's; Qwen3-VL's: `linear_fc1`/`linear_fc2`); the patch `merger`
(and Qwen3-VL's DeepStack mergers) are the VLM's projector and stay frozen.
Only what the VLM reads is tunable: the blocks up to its feature layer (LLaVA reads layer −2, so
the last block is left out, as the released `lorsu_v_ppl` scores layers 0–22 of 24), never the tower's own
post-norm or pooling head (unused by LLaVA; BLIP-2's ln_vision belongs to the VLM checkpoint).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from harness.clip.models import Block, Projection, TunableTower, separate_qkv

UNREAD_PARTS = ("post_layernorm", "head")
# Qwen-VL: the patch merger (and Qwen3-VL's DeepStack mergers) project into the LLM: LLaVA's projector's part
FROZEN_PARTS = ("merger", "deepstack_merger_list")


def is_qwen_vit(tower: nn.Module) -> bool:
    """Qwen2.5-VL's or Qwen3-VL's vision tower: `blocks` and the patch `merger` on the tower itself."""
    return hasattr(tower, "blocks") and hasattr(tower, "merger")


def is_gemma4_vit(tower: nn.Module) -> bool:
    """Gemma 4's vision tower (`Gemma4VisionModel`): a `patch_embedder` and clipped linears (`q_proj.linear`)."""
    return hasattr(tower, "patch_embedder") and hasattr(tower, "encoder")


def gemma4_block(i: int, layer: nn.Module) -> Block:
    """A Gemma 4 ViT block: separate q/k/v without biases inside clipped linears, a gated MLP whose `gate_proj`
    plays fc1's part and `down_proj` fc2's (as for Qwen2.5-VL)."""
    att, mlp = layer.self_attn, layer.mlp
    qkv = [(att.q_proj.linear, "weight"), (att.k_proj.linear, "weight"), (att.v_proj.linear, "weight")]
    return Block(
        i, qkv, [], att.config.num_attention_heads, mlp.gate_proj.linear, mlp.down_proj.linear, att.o_proj.linear
    )


def _visual(tower: nn.Module) -> nn.Module:
    """The module holding the blocks (4.x-style wrappers hold it inside as `vision_model`)."""
    return tower if hasattr(tower, "encoder") or is_qwen_vit(tower) else tower.vision_model


def _layers(visual: nn.Module) -> list[nn.Module]:
    return list(visual.blocks) if is_qwen_vit(visual) else list(visual.encoder.layers)


def feature_blocks(config: Any, layers: int) -> int:
    """How many blocks a VLM reads: hidden_states[k] is the output of block k (k < 0 counts from the end)."""
    k = getattr(config, "vision_feature_layer", None)
    if k is None:
        return layers
    ks = list(k) if isinstance(k, list | tuple) else [k]
    return max(layers + 1 + i if i < 0 else i for i in ks)


class VlmTower(TunableTower):
    """`net` is the whole VLM (parameter names are the VLM's); `tower` its vision tower; `visual` the module holding
    `encoder.layers` (LoRA's target names are relative to it)."""

    def __init__(self, net: nn.Module, tower: nn.Module, read: int, spec: str = ""):
        super().__init__()
        self.net = net
        self.tower = tower
        self._visual = _visual(tower)
        self.qwen = is_qwen_vit(self.visual)
        self.eva = not self.qwen and hasattr(self.visual.encoder.layers[0].self_attn, "qkv")
        self.gemma4 = is_gemma4_vit(self.visual)
        self.family = "hf_qwen" if self.qwen else "hf_gemma4" if self.gemma4 else "hf_eva" if self.eva else "hf"
        self.layers = _layers(self.visual)
        self.read = read
        self.spec = spec

    @property
    def visual(self) -> nn.Module:
        return self._visual

    @classmethod
    def of(cls, adapter: Any, spec: str = "") -> VlmTower:
        tower = adapter.vision_tower
        config = getattr(adapter.model, "config", None)
        return cls(adapter.model, tower, feature_blocks(config, len(_layers(_visual(tower)))), spec)

    def vision_modules(self) -> list[nn.Module]:
        return [self.tower]

    def vision_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The tower's parameters the VLM reads, named as in `net`."""
        unread = {id(p) for layer in self.layers[self.read :] for p in layer.parameters()}
        for part in UNREAD_PARTS + FROZEN_PARTS:
            module = getattr(self.visual, part, None)
            unread |= {id(p) for p in module.parameters()} if isinstance(module, nn.Module) else set()
        ids = {id(p) for p in self.tower.parameters()} - unread
        return [(n, p) for n, p in self.net.named_parameters() if id(p) in ids]

    def layer_norms(self) -> list[nn.Module]:
        """The read blocks' norms: LayerNorms, or Qwen's RMSNorms (a weight, no bias)."""
        read = {id(p) for _, p in self.vision_parameters()}
        return [m for m in self.tower.modules() if self._is_norm(m) and id(m.weight) in read]

    def _is_norm(self, m: nn.Module) -> bool:
        if self.gemma4:  # Gemma 4's RMSNorms; its value norm has no weight
            return type(m).__name__.endswith("RMSNorm") and getattr(m, "weight", None) is not None
        return isinstance(m, nn.LayerNorm) or (self.qwen and type(m).__name__.endswith("RMSNorm"))

    def blocks(self) -> list[Block]:
        out = []
        for i, layer in enumerate(self.layers[: self.read]):
            if self.gemma4:
                out.append(gemma4_block(i, layer))
                continue
            if self.qwen:
                att, mlp = layer.attn, layer.mlp
                qkv, bias = [(att.qkv, "weight")], [(att.qkv, "bias")] if att.qkv.bias is not None else []
                gated = hasattr(mlp, "gate_proj")  # Qwen2.5-VL's SwiGLU; Qwen3-VL's plain GELU MLP
                fc1, fc2 = (mlp.gate_proj, mlp.down_proj) if gated else (mlp.linear_fc1, mlp.linear_fc2)
                out.append(Block(i, qkv, bias, att.num_heads, fc1, fc2, att.proj))
                continue
            att = layer.self_attn
            if self.eva:
                qkv = [(att.qkv, "weight")]
                bias = [(att.qkv, "bias")] if att.qkv.bias is not None else []
                out_proj = att.projection
            else:
                qkv, bias = separate_qkv(att)
                out_proj = att.out_proj
            out.append(Block(i, qkv, bias, att.num_heads, layer.mlp.fc1, layer.mlp.fc2, out_proj))
        return out

    def projection(self) -> Projection | None:
        return None  # the VLM's projector reads the tower's hidden states and stays frozen

    def text_fc1(self) -> list[nn.Linear]:
        return []

    def fixed_masks(self) -> dict[int, torch.Tensor]:
        """EVA's fused bias is cat(q_bias, 0, v_bias): the k third stays zero."""
        out = {}
        for b in self.blocks() if self.eva else []:
            for module, name in b.qkv_bias:
                bias = getattr(module, name)
                mask = torch.ones_like(bias)
                mask[b.width : 2 * b.width] = 0
                out[id(bias)] = mask
        return out

    def train(self, mode: bool = True) -> VlmTower:
        """Only the tower changes mode: the frozen projector and LLM stay in eval (no dropout in the objective)."""
        self.tower.train(mode)
        return self

    def skeleton(self) -> VlmTower:
        tower = copy.deepcopy(self.tower).to("cpu")
        return VlmTower(tower, tower, self.read, self.spec)

    def release_state_dict(self) -> dict[str, torch.Tensor]:
        """The whole tower in its own (transformers) names, which `--encoder` swaps back."""
        return {k: v.detach().to("cpu").clone().contiguous() for k, v in self.tower.state_dict().items()}

    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        self.tower.load_state_dict(sd, strict=True)

    def describe(self) -> dict[str, Any]:
        blocks = self.blocks()
        return {
            "family": self.family,
            "spec": self.spec,
            "tower": type(self.tower).__name__,
            "vision_layers": len(self.layers),
            "blocks_read": self.read,
            "vision_width": blocks[0].width if blocks else None,
            "vision_heads": blocks[0].heads if blocks else None,
        }

    @property
    def device(self) -> torch.device:
        return next(self.tower.parameters()).device

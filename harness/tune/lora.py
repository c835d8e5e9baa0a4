"""LoRA baseline: peft LoRA (rank 32) on every attention and MLP linear of the vision tower.

Targets: HF q/k/v/out_proj + fc1/fc2; open_clip ViT the `nn.MultiheadAttention` (peft's MHA layer:
in_proj and out_proj) + c_fc/c_proj; timm EVA qkv/proj + fc1/fc2. The projection is not adapted.
As released, the adapters persist across continual sessions (`lora_persist`); each session's export
merges a copy. With `lora_persist=False` they are merged in place and rebuilt every session.
"""
from __future__ import annotations

import copy
from typing import Iterable

import torch
from torch import nn

from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.loss import TextBank
from harness.tune.models import ClipModel

TARGETS = {
    "hf": r"^encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))$",
    "open_clip": r"^transformer\.resblocks\.\d+\.(attn|mlp\.c_fc|mlp\.c_proj)$",
    "timm": r"^trunk\.blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(fc1|fc2))$",
}


def target_pattern(model: ClipModel) -> str:
    if model.family == "hf":
        return TARGETS["hf"]
    return TARGETS["timm"] if getattr(model, "is_timm", False) else TARGETS["open_clip"]


class LoRA(TuneMethod):
    name = "lora"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.peft: nn.Module | None = None

    @property
    def resumes_from_checkpoint(self) -> bool:
        return not self.cfg.lora_persist

    def _inject(self, model: ClipModel) -> None:
        from peft import LoraConfig, get_peft_model

        self.total = vision_total(model)
        if getattr(model, "is_timm", False):
            # timm's Eva calls F.linear(x, qkv.weight, bias) when q/v biases exist, which would bypass
            # the LoRA layer; the separate-bias path calls qkv(x) and adds the same bias afterwards.
            for blk in model.visual.trunk.blocks:
                if getattr(blk.attn, "q_bias", None) is not None:
                    blk.attn.qkv_bias_separate = True
        config = LoraConfig(r=self.cfg.rank, lora_alpha=float(self.cfg.alpha), lora_dropout=0.0, bias="none",
                            target_modules=target_pattern(model))
        self.peft = get_peft_model(model.visual, config)
        self.updated = sum(_base_weight(m).numel() for m in _lora_layers(model.visual))

    def start_session(self, model: ClipModel, bank: TextBank, loader: Iterable | None) -> None:
        if self.peft is None:
            self._inject(model)
        model.freeze()
        params = [p for n, p in model.visual.named_parameters() if "lora_" in n]
        self.trainables = enable(model, [(p, None) for p in params])
        self.info = {"target_modules": target_pattern(model), "layers_adapted": len(_lora_layers(model.visual))}

    def finish_session(self, model: ClipModel) -> ClipModel:
        assert self.peft is not None
        if not self.cfg.lora_persist:
            self.peft.merge_and_unload()
            self.peft = None
            model.freeze()
            return model
        merged_model, merged_peft = copy.deepcopy((model, self.peft))
        merged_peft.merge_and_unload()
        merged_model.freeze()
        return merged_model

    def extra_state(self, model: ClipModel) -> dict[str, torch.Tensor]:
        if not self.cfg.lora_persist:
            return {}
        return {n: p.detach().cpu().clone() for n, p in model.visual.named_parameters() if "lora_" in n}

    def load_extra_state(self, model: ClipModel, state: dict[str, torch.Tensor]) -> None:
        if self.peft is None:
            self._inject(model)
        params = dict(model.visual.named_parameters())
        missing = [n for n in state if n not in params]
        if missing:
            raise ValueError(f"LoRA resume state does not match this model: {missing[:3]}")
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)


def _lora_layers(module: nn.Module) -> list[nn.Module]:
    from peft.tuners.lora import LoraLayer

    return [m for m in module.modules() if isinstance(m, LoraLayer)]


def _base_weight(layer: nn.Module) -> torch.Tensor:
    base = layer.get_base_layer()
    return base.in_proj_weight if isinstance(base, nn.MultiheadAttention) else base.weight

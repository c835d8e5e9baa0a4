"""LoRA baseline: LoRA (rank 32) on every attention and MLP linear of the vision tower.

peft LoRA wraps the linears that the model calls as modules: HF q/k/v/out_proj + fc1/fc2, open_clip
c_fc/c_proj, timm EVA proj + fc1/fc2. Weights the model reads directly instead of calling the linear
get the same LoRA (W + alpha/r * A @ B, rank r, B zero at start) as a weight parametrization:
open_clip's `nn.MultiheadAttention` in_proj and out_proj (peft's MHA layer merges and unmerges around
every forward, which drifts the frozen weights by rounding) and EVA's `qkv` when it has q/v biases
(timm calls `F.linear(x, qkv.weight, bias)`). The projection is not adapted.
As released, adapters persist across continual sessions (`lora_persist`); each session's export
writes base + delta into a plain CPU copy taken before the adapters were attached (a deep copy of a
parametrized model cannot be un-parametrized without breaking the original's class). With
`lora_persist=False` they are merged in place and rebuilt every session.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import torch
from torch import nn

from harness.clip.models import TunableTower
from harness.errors import InvalidInput
from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.objective import Objective
from harness.tune.params import attach_lora, merge_parametrizations

PEFT_TARGETS = {
    "hf": r"^encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.(fc1|fc2))$",
    "open_clip": r"^transformer\.resblocks\.\d+\.mlp\.(c_fc|c_proj)$",
    "timm": r"^trunk\.blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(fc1|fc2))$",
    "timm_qkv_direct": r"^trunk\.blocks\.\d+\.(attn\.proj|mlp\.(fc1|fc2))$",
    # transformers' Blip2VisionModel (EVA ViT-g of BLIP-2 / InstructBLIP / MiniGPT-v2): one fused qkv Linear
    "hf_eva": r"^encoder\.layers\.\d+\.(self_attn\.(qkv|projection)|mlp\.(fc1|fc2))$",
    # Qwen2.5-VL's / Qwen3-VL's ViT (fused qkv; gated MLP, or Qwen3's linear_fc1/fc2); the patch merger stays frozen
    "hf_qwen": r"^blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(gate_proj|up_proj|down_proj|linear_fc1|linear_fc2))$",
    # Gemma 4's ViT: each projection is a clippable wrapper around its Linear
    "hf_gemma4": r"^encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))"
    r"\.linear$",
    # transformers' FLAVA image encoder (FlavaModel.image_model): BERT-style attention and MLP names
    "flava": r"^image_model\.encoder\.layer\.\d+\."
    r"(attention\.(attention\.(query|key|value)|output\.dense)|intermediate\.dense|output\.dense)$",
}


def _kind(model: TunableTower) -> str:
    if model.family in ("hf_eva", "flava", "hf_qwen", "hf_gemma4"):
        return model.family
    if model.family in ("hf", "hf_siglip"):  # transformers towers: the same encoder.layers.N names
        return "hf"
    return "timm" if getattr(model, "is_timm", False) else "open_clip"


def direct_weights(model: TunableTower) -> list[tuple[nn.Module, str]]:
    """Attention weights read directly by the forward (no Linear call): LoRA as parametrization."""
    kind = _kind(model)
    if kind == "open_clip":
        return [t for b in model.blocks() for t in (b.qkv[0], (b.out_proj, "weight"))]
    if kind == "timm":
        return [b.qkv[0] for b in model.blocks() if b.fused and b.qkv_bias]
    return []


class LoRA(TuneMethod):
    name = "lora"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.peft: nn.Module | None = None
        self.direct: list[tuple[nn.Module, str]] = []
        self.skeleton: TunableTower | None = None

    @property
    def resumes_from_checkpoint(self) -> bool:
        return not self.cfg.lora_persist

    def _inject(self, model: TunableTower) -> None:
        from peft import LoraConfig, get_peft_model

        self.total = vision_total(model)
        if self.cfg.lora_persist:
            self.skeleton = model.skeleton()
        self.direct = direct_weights(model)
        kind = _kind(model)
        pattern = PEFT_TARGETS["timm_qkv_direct" if kind == "timm" and self.direct else kind]
        config = LoraConfig(
            r=self.cfg.rank, lora_alpha=float(self.cfg.alpha), lora_dropout=0.0, bias="none", target_modules=pattern
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            self.peft = get_peft_model(model.visual, config)
        for target in self.direct:
            attach_lora([target], self.cfg.rank, float(self.cfg.alpha))
        self.updated = sum(m.get_base_layer().weight.numel() for m in _peft_layers(model.visual)) + sum(
            getattr(m, n).numel() for m, n in self.direct
        )
        self.info = {
            "peft_targets": pattern,
            "peft_layers": len(_peft_layers(model.visual)),
            "parametrized_weights": len(self.direct),
        }

    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        if self.peft is None:
            self._inject(model)
        model.freeze()
        params = [p for n, p in model.visual.named_parameters() if "lora_" in n]
        self.trainables = enable(model, [(p, None) for p in params])

    def finish_session(self, model: TunableTower) -> TunableTower:
        assert self.peft is not None
        if not self.cfg.lora_persist:
            self.peft.merge_and_unload()
            merge_parametrizations(self.direct)
            self.peft, self.direct = None, []
            model.freeze()
            return model
        return self._merged_copy(model)

    @torch.no_grad()
    def _merged_copy(self, model: TunableTower) -> TunableTower:
        """The skeleton with every adapted weight set to base + delta."""
        assert self.skeleton is not None
        live, skel = model.visual, self.skeleton.visual
        adapted = {id(m) for m in _peft_layers(live)}
        for path, module in live.named_modules():
            if id(module) in adapted:
                merged = module.get_base_layer().weight + module.get_delta_weight("default")
                skel.get_submodule(path).weight.copy_(merged)
        paths = {id(m): p for p, m in live.named_modules()}
        for module, name in self.direct:
            getattr(skel.get_submodule(paths[id(module)]), name).copy_(getattr(module, name))
        return self.skeleton

    def extra_state(self, model: TunableTower) -> dict[str, torch.Tensor]:
        if not self.cfg.lora_persist:
            return {}
        return {n: p.detach().cpu().clone() for n, p in model.visual.named_parameters() if "lora_" in n}

    def load_extra_state(self, model: TunableTower, state: dict[str, torch.Tensor]) -> None:
        if self.peft is None:
            self._inject(model)
        params = dict(model.visual.named_parameters())
        missing = [n for n in state if n not in params]
        if missing or len(state) != sum("lora_" in n for n in params):
            raise InvalidInput(f"LoRA resume state does not match this model: {missing[:3]}")
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)


def _peft_layers(module: nn.Module) -> list[nn.Module]:
    from peft.tuners.lora import LoraLayer

    return [m for m in module.modules() if isinstance(m, LoraLayer)]

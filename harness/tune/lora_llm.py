"""The LLM-side and whole-VLM baselines, LoRA through the VLM objective (peft), exported as a PEFT adapter.

- `lora-llm`: LoRA on every linear of every LLM layer (q, k, v, o, gate, up, down for Llama / Qwen2; q, k, v,
  out, fc1, fc2 for OPT), as the released `lora_llm` and the workshop paper's Table 1 "sanity check";
- `lora-llm-last`: the same on the last `last_layers` LLM layers (`lora_lastlayers`, 16 by default);
- `lora-full`: LoRA on every linear of the VLM but the output head: vision tower, projector (and BLIP's
  Q-Former) and LLM (`full_lora`, "LoRA-Full").
Adapters persist across continual sessions; every session exports peft's own format (`peft/`:
adapter_config.json + adapter_model.safetensors), which `harness eval --peft DIR` merges into the VLM.
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


def decoder_layers(net: nn.Module) -> nn.ModuleList:
    """The LLM's transformer layers (the first `layers` ModuleList inside `get_decoder()`)."""
    decoder = net.get_decoder() if hasattr(net, "get_decoder") else None
    layers = next(
        (m for n, m in (decoder or net).named_modules() if n.endswith("layers") and isinstance(m, nn.ModuleList)), None
    )
    if decoder is None or layers is None:
        raise InvalidInput(f"{type(net).__name__}: no LLM layers found for LoRA on the LLM")
    return layers


def lora_targets(net: nn.Module, scope: str, last: int) -> list[str]:
    """Full module names of the linears a PEFT method adapts."""
    if scope == "lora-full":
        head = net.get_output_embeddings() if hasattr(net, "get_output_embeddings") else None
        chosen = [m for m in net.modules() if isinstance(m, nn.Linear) and m is not head]
    else:
        layers = list(decoder_layers(net))
        if scope == "lora-llm-last":
            if not 0 < last <= len(layers):
                raise InvalidInput(f"--last-layers {last}: the LLM has {len(layers)} layers")
            layers = layers[-last:]
        chosen = [m for layer in layers for m in layer.modules() if isinstance(m, nn.Linear)]
    ids = {id(m) for m in chosen}
    return [name for name, m in net.named_modules() if id(m) in ids]


class PeftLoRA(TuneMethod):
    """LoRA (rank r, alpha, no dropout, B zero at start) on `lora_targets`, with Adam/AdamW on the LoRA factors."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.peft_model: nn.Module | None = None

    @property
    def resumes_from_checkpoint(self) -> bool:
        return False  # the exported adapter, not a tower, holds the state

    def _inject(self, model: TunableTower) -> None:
        from peft import LoraConfig, get_peft_model

        if not hasattr(model.net, "get_decoder"):
            raise InvalidInput(f"--method {self.cfg.method}: {type(model.net).__name__} is not a transformers VLM")
        self.total = sum(p.numel() for p in model.net.parameters())
        targets = lora_targets(model.net, self.cfg.method, int(self.cfg.last_layers))
        config = LoraConfig(r=self.cfg.rank, lora_alpha=float(self.cfg.alpha), lora_dropout=0.0, target_modules=targets)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            self.peft_model = get_peft_model(model.net, config)
        modules = dict(model.net.named_modules())
        self.updated = sum(modules[t].get_base_layer().weight.numel() for t in targets)
        self.info = {"peft_targets": len(targets), "scope": self.cfg.method, "vision_total": vision_total(model)}

    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        if self.peft_model is None:
            self._inject(model)
        model.freeze()
        params = [p for n, p in model.net.named_parameters() if "lora_" in n]
        self.trainables = enable(model, [(p, None) for p in params])

    def save_adapter(self, path) -> None:
        assert self.peft_model is not None
        self.peft_model.save_pretrained(str(path), safe_serialization=True, save_embedding_layers=False)

    def extra_state(self, model: TunableTower) -> dict[str, torch.Tensor]:
        return {n: p.detach().cpu().clone() for n, p in model.net.named_parameters() if "lora_" in n}

    def load_extra_state(self, model: TunableTower, state: dict[str, torch.Tensor]) -> None:
        if self.peft_model is None:
            self._inject(model)
        params = dict(model.net.named_parameters())
        missing = [n for n in state if n not in params]
        if missing or len(state) != sum("lora_" in n for n in params):
            raise InvalidInput(f"{self.cfg.method} resume state does not match this model: {missing[:3]}")
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)

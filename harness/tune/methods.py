"""Method name -> `TuneMethod` class."""

from __future__ import annotations

from harness.tune.base import TuneMethod
from harness.tune.config import TuneConfig
from harness.tune.fft import FullFineTune
from harness.tune.ln import LayerNormOnly
from harness.tune.lora import LoRA
from harness.tune.lora_llm import PeftLoRA
from harness.tune.lorsu import LoRSU
from harness.tune.spu import SPU

METHOD_CLASSES: dict[str, type[TuneMethod]] = {
    "lorsu": LoRSU,
    "spu": SPU,
    "lora": LoRA,
    "ln": LayerNormOnly,
    "fft": FullFineTune,
    "lora-llm": PeftLoRA,
    "lora-llm-last": PeftLoRA,
    "lora-full": PeftLoRA,
}


def make_method(cfg: TuneConfig) -> TuneMethod:
    """A method for a resolved config (`cfg.resolved(task)`)."""
    if cfg.lr is None or cfg.alpha is None or cfg.sparsity is None:
        raise ValueError("make_method needs a resolved config (TuneConfig.resolved)")
    return METHOD_CLASSES[cfg.method](cfg)

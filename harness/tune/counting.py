"""Trainable-parameter counts of a method on a model, without training.

`count_parameters` runs the method's real session setup (scoring included) on one small batch of
random images, so the counts come from the same code as a run; masks and head choices then depend on
that batch, the counts do not.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from harness.clip.data import CaptionedImages
from harness.clip.models import ClipModel
from harness.tune.base import ParamReport
from harness.tune.config import TuneConfig
from harness.tune.loss import TextBank
from harness.tune.methods import make_method
from harness.tune.objective import ContrastiveObjective


def count_parameters(model: ClipModel, cfg: TuneConfig, batch: int = 2, seed: int = 0) -> ParamReport:
    """The method's `ParamReport` on `model` (left with the method's adapters attached)."""
    cfg = replace(cfg, importance_samples=1).resolved()
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randn(batch, 3, model.image_size, model.image_size, generator=g).to(model.device)
    data = CaptionedImages(
        [(f"random-{i}", i) for i in range(batch)], [f"class {i}" for i in range(batch)], ("a photo of a {}.",)
    )
    loader = [(pixels, torch.arange(batch), torch.zeros(batch, dtype=torch.long))]
    method = make_method(cfg)
    method.start_session(model, ContrastiveObjective(TextBank(model, data, live=method.trains_text)), loader)
    return method.report()

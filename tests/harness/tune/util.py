"""Helpers shared by the tuning tests."""

from __future__ import annotations

from dataclasses import replace

import torch

from harness.clip.data import CaptionedImages
from harness.clip.loader import train_loader, train_transform
from harness.clip.models import ClipModel
from harness.tune.config import TuneConfig
from harness.tune.loss import TextBank
from harness.tune.methods import make_method
from harness.tune.objective import ContrastiveObjective
from harness.tune.trainer import train_session

# Learning rates at which each method moves a tiny random CLIP within a few CPU seconds.
FAST_LR = {"lorsu": 1e-2, "spu": 1e-2, "lora": 1e-2, "ln": 1e-1, "fft": 3e-3}


def quick_cfg(method: str, **kw) -> TuneConfig:
    base = TuneConfig(
        method=method,
        epochs=2,
        lr=FAST_LR[method],
        rank=4,
        top_k_heads=2,
        batch_size=10,
        schedule="per_step",
        augment="none",
        importance_samples=20,
    )
    return replace(base, **kw).resolved()


def session_parts(model: ClipModel, data: CaptionedImages, cfg: TuneConfig, seed: int = 0):
    """(method, objective, loader) for one session on all of `data`, after `start_session`."""
    torch.manual_seed(seed)
    method = make_method(cfg)
    objective = ContrastiveObjective(TextBank(model, data, live=method.trains_text))
    loader = train_loader(
        data, train_transform(model.image_size, model.mean, model.std, cfg.augment), cfg.batch_size, seed=seed
    )
    method.start_session(model, objective, loader)
    return method, objective, loader


def train(model, method, objective, loader, cfg) -> None:
    train_session(model, method, loader, objective, cfg, progress=False)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def changed_entries(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> dict[str, int]:
    """Per tensor name, how many entries differ (tensors present in both)."""
    return {n: int((before[n] != after[n]).sum()) for n in before if n in after}

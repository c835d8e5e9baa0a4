"""One training session: epochs of CLIP-loss steps over a method's trainable entries."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from harness.clip.models import ClipModel
from harness.tune.base import TuneMethod
from harness.tune.config import TuneConfig
from harness.tune.loss import TextBank, contrastive_loss
from harness.tune.schedule import per_step_lr, released_epoch_lrs


@dataclass
class SessionStats:
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    epoch_lrs: list[float] = field(default_factory=list)
    steps: int = 0

    @property
    def minutes_per_epoch(self) -> float:
        return sum(self.epoch_seconds) / max(len(self.epoch_seconds), 1) / 60.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch_losses": self.epoch_losses,
            "epoch_seconds": [round(s, 4) for s in self.epoch_seconds],
            "epoch_lrs": self.epoch_lrs,
            "steps": self.steps,
            "minutes_per_epoch": round(self.minutes_per_epoch, 6),
        }


def epoch_lrs(cfg: TuneConfig, batches: int, sessions: int) -> list[float]:
    """Released per-epoch LRs: LoRSU's trainer cycles over epochs x batches, SPU's over epochs x tasks."""
    epochs = int(cfg.epochs or 1)
    cycle = epochs * (sessions if cfg.method == "spu" else max(batches, 1))
    return released_epoch_lrs(epochs, cycle, float(cfg.lr), float(cfg.min_lr or 0.0), cfg.warmup)


def train_session(
    model: ClipModel,
    method: TuneMethod,
    loader: DataLoader,
    bank: TextBank,
    cfg: TuneConfig,
    sessions: int = 1,
    progress: bool = True,
    desc: str = "",
) -> SessionStats:
    """Train `method.trainables` for `cfg.epochs` epochs; returns losses and timings per epoch."""
    epochs = int(cfg.epochs or 1)
    batches = len(loader)
    opt = method.optimizer()
    per_epoch = epoch_lrs(cfg, batches, sessions)
    total = epochs * batches
    stats = SessionStats()
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if cfg.amp and model.device.type == "cuda"
        else contextlib.nullcontext()
    )
    bar = tqdm(total=total, desc=desc or method.name, disable=not progress, leave=False, unit="step")
    model.train()
    for epoch in range(epochs):
        start = time.perf_counter()
        loss_sum, n = 0.0, 0
        for batch in loader:
            lr = (
                per_epoch[epoch]
                if cfg.schedule == "released"
                else per_step_lr(stats.steps, total, float(cfg.lr), float(cfg.min_lr or 0.0), cfg.warmup)
            )
            for group in opt.param_groups:
                group["lr"] = lr
            with autocast:
                loss = contrastive_loss(model, bank, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            method.mask_gradients()
            method.before_step(lr)
            opt.step()
            stats.steps += 1
            loss_sum += float(loss.detach()) * int(batch[0].shape[0])
            n += int(batch[0].shape[0])
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
        if model.device.type == "cuda":
            torch.cuda.synchronize()
        stats.epoch_seconds.append(time.perf_counter() - start)
        stats.epoch_losses.append(loss_sum / max(n, 1))
        stats.epoch_lrs.append(per_epoch[epoch] if cfg.schedule == "released" else lr)
    bar.close()
    model.eval()
    opt.zero_grad(set_to_none=True)
    return stats

"""One training session: epochs of steps of an objective (contrastive or through the VLM) over a method's
trainable entries; the first step's FLOPs (forward + backward) are counted."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from harness.clip.models import TunableTower
from harness.tune.base import TuneMethod
from harness.tune.config import TuneConfig
from harness.tune.cost import PeakMemory, count_flops
from harness.tune.objective import Objective
from harness.tune.schedule import per_step_lr, released_epoch_lrs


@dataclass
class SessionStats:
    epoch_losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    epoch_lrs: list[float] = field(default_factory=list)
    steps: int = 0
    flops_per_step: int | None = None  # the first step's, forward + backward (FlopCounterMode)
    step_seconds: list[float] = field(default_factory=list)  # every step but the counted first
    peak_memory_bytes: int | None = None
    memory_kind: str = ""

    @property
    def seconds_per_step(self) -> float | None:
        return sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds else None

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
            "flops_per_step": self.flops_per_step,
            "seconds_per_step": round(self.seconds_per_step, 6) if self.seconds_per_step is not None else None,
            "peak_memory_bytes": self.peak_memory_bytes,
            "memory_kind": self.memory_kind,
        }


def epoch_lrs(cfg: TuneConfig, batches: int, sessions: int) -> list[float]:
    """Released per-epoch LRs: LoRSU's trainer cycles over epochs x batches, SPU's over epochs x tasks."""
    epochs = int(cfg.epochs or 1)
    cycle = epochs * (sessions if cfg.method == "spu" else max(batches, 1))
    return released_epoch_lrs(epochs, cycle, float(cfg.lr), float(cfg.min_lr or 0.0), cfg.warmup)


def train_session(
    model: TunableTower,
    method: TuneMethod,
    loader: DataLoader,
    objective: Objective,
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
    with PeakMemory(model.device) as peak:
        for epoch in range(epochs):
            start = time.perf_counter()
            loss_sum, n = 0.0, 0
            for batch in loader:
                lr = (
                    per_epoch[epoch]
                    if cfg.schedule == "released"
                    else per_step_lr(stats.steps, total, float(cfg.lr), float(cfg.min_lr or 0.0), cfg.warmup)
                )
                t0 = time.perf_counter()
                loss = _step(model, method, objective, opt, batch, lr, autocast, stats)
                if stats.steps > 1:  # the first step ran under the FLOP counter
                    stats.step_seconds.append(time.perf_counter() - t0)
                loss_sum += float(loss.detach()) * objective.batch_size(batch)
                n += objective.batch_size(batch)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.4f}", lr=f"{lr:.2e}")
            if model.device.type == "cuda":
                torch.cuda.synchronize()
            stats.epoch_seconds.append(time.perf_counter() - start)
            stats.epoch_losses.append(loss_sum / max(n, 1))
            stats.epoch_lrs.append(per_epoch[epoch] if cfg.schedule == "released" else lr)
    bar.close()
    stats.peak_memory_bytes, stats.memory_kind = peak.bytes, peak.kind
    model.eval()
    opt.zero_grad(set_to_none=True)
    return stats


def _step(
    model: TunableTower,
    method: TuneMethod,
    objective: Objective,
    opt: torch.optim.Optimizer,
    batch: tuple,
    lr: float,
    autocast: contextlib.AbstractContextManager,
    stats: SessionStats,
) -> torch.Tensor:
    """One optimiser step; the first of a session counts its forward + backward FLOPs."""
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad(set_to_none=True)

    def forward_backward() -> torch.Tensor:
        with autocast:
            loss = objective.loss(model, batch)
        loss.backward()
        return loss

    if stats.flops_per_step is None:
        loss, stats.flops_per_step = count_flops(forward_backward)
    else:
        loss = forward_backward()
    method.mask_gradients()
    method.before_step(lr)
    opt.step()
    stats.steps += 1
    return loss

"""Gradient-based importance scores (LoRSU and SPU), computed before any adapter is attached."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from harness.clip.models import TunableTower
from harness.errors import InvalidInput

LossFn = Callable[[TunableTower, tuple], torch.Tensor]


def _with_grad(model: TunableTower, params: list[torch.nn.Parameter]) -> None:
    model.freeze()
    for p in params:
        p.requires_grad_(True)


def lorsu_scores(
    model: TunableTower,
    loader: Iterable,
    loss_fn: LossFn,
    params: dict[str, torch.nn.Parameter],
    min_samples: int,
    mode: str = "average",
) -> tuple[dict[str, torch.Tensor], int]:
    """LoRSU's scores and the number of samples used.

    average (released): the per-sample-weighted mean of the signed batch gradients,
    sum_b |b| * g_b / n. squared: sum_b |b| * g_b**2 / n. The pass stops once `min_samples` are used
    and every score is at least 1e-10 in magnitude, or at the end of one pass over `loader`.
    """
    _with_grad(model, list(params.values()))
    scores = {k: torch.zeros_like(p, dtype=torch.float32) for k, p in params.items()}
    n = 0
    model.train()
    for batch in loader:
        for p in params.values():
            p.grad = None
        loss_fn(model, batch).backward()
        bs = len(batch[0])
        for k, p in params.items():
            g = p.grad.detach().float() if p.grad is not None else torch.zeros_like(scores[k])
            scores[k] += bs * (g if mode == "average" else g * g)
        n += bs
        if n >= min_samples and all(bool((s.abs() >= 1e-10 * n).all()) for s in scores.values()):
            break
    model.freeze()
    if n == 0:
        raise InvalidInput("no training batches to score importance on")
    return {k: s / n for k, s in scores.items()}, n


def spu_scores(
    model: TunableTower,
    loader: Iterable,
    loss_fn: LossFn,
    params: dict[str, torch.nn.Parameter],
    batch_fraction: float = 0.25,
    cumulative: bool = True,
) -> tuple[dict[str, torch.Tensor], int]:
    """SPU's scores: signed gradients summed over batches.

    Released (`cumulative=True`): gradients are zeroed once before the loop and keep accumulating, so
    the score is sum_j sum_{i<=j} g_i. It stops after more than `batch_fraction` of the batches once
    every entry is non-zero (or at the end of the pass).
    """
    _with_grad(model, list(params.values()))
    scores = {k: torch.zeros_like(p, dtype=torch.float32) for k, p in params.items()}
    total = len(loader) if hasattr(loader, "__len__") else None
    used = batches = 0
    model.train()
    for p in params.values():
        p.grad = None
    for batch in loader:
        if not cumulative:
            for p in params.values():
                p.grad = None
        loss_fn(model, batch).backward()
        for k, p in params.items():
            if p.grad is not None:
                scores[k] += p.grad.detach().float()
        used += len(batch[0])
        batches += 1
        if (total is None or batches > batch_fraction * total) and all(bool((s != 0).all()) for s in scores.values()):
            break
    model.freeze()
    if used == 0:
        raise InvalidInput("no training batches to score importance on")
    return scores, used

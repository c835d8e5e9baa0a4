"""Cosine annealing with linear warm-up, as the releases use it (`CosineAnnealingWarmupRestarts`).

Released behaviour, reproduced by `released_epoch_lrs`: the scheduler is built with
`first_cycle_steps` (LoRSU: epochs * batches per epoch; SPU: epochs * sessions), the optimiser's LR
is then reset to `min_lr`, and `step()` is called once per epoch. So epoch 1 runs at `min_lr`, epoch
e >= 2 at the cycle's value at step e-1 (with warm-up 1 that is `max_lr` for epoch 2, then a decay
that is tiny when the cycle counts batches). `per_step_lr` is the paper's reading: the same curve
stepped every batch.
"""

from __future__ import annotations

import math


def cycle_lr(step: int, cycle_steps: int, warmup: int, max_lr: float, min_lr: float) -> float:
    """LR at `step` (0-based) of a warm-up + cosine cycle; restarts after `cycle_steps`."""
    if cycle_steps <= 0:
        raise ValueError("cycle_steps must be positive")
    s = step % cycle_steps
    if s < warmup:
        return min_lr + (max_lr - min_lr) * s / warmup
    span = max(cycle_steps - warmup, 1)
    return min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * (s - warmup) / span)) / 2


def released_epoch_lrs(epochs: int, cycle_steps: int, max_lr: float, min_lr: float, warmup: int = 1) -> list[float]:
    """The LR each epoch runs at under the released once-per-epoch stepping."""
    return [min_lr if e == 0 else cycle_lr(e, cycle_steps, warmup, max_lr, min_lr) for e in range(epochs)]


def per_step_lr(step: int, total_steps: int, max_lr: float, min_lr: float, warmup: int = 1) -> float:
    return cycle_lr(step, max(total_steps, 1), warmup, max_lr, min_lr)

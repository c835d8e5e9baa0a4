"""Trainable entries, gradient masks, exact counting, and LoRA as a weight parametrization.

A `Trainable` is a parameter the optimiser updates, with an optional 0/1 mask: only entries where the
mask is 1 can change (the gradient is multiplied by it; the optimisers used have no decay outside it).
`LoRADelta` + `AddDelta` implement LoRSU's masked LoRA, `W + (alpha/r) * (m ⊙ (A @ B))` with a row
mask `m`, via `torch.nn.utils.parametrize`, so one `LoRADelta` can feed a fused [3D, D] matrix or
three [D, D] q/k/v matrices (row slices) with identical maths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from harness.errors import InvalidInput


@dataclass
class Trainable:
    name: str
    param: nn.Parameter
    mask: torch.Tensor | None = None  # same shape as param, 0/1; None = every entry
    decay_all: bool = False  # weight decay reaches the masked-out entries too (SPU as released)

    @property
    def count(self) -> int:
        if self.mask is None or self.decay_all:
            return self.param.numel()
        return int(self.mask.sum().item())

    def mask_grad(self) -> None:
        if self.mask is not None and self.param.grad is not None:
            self.param.grad.mul_(self.mask)


def count_trainable(trainables: list[Trainable]) -> int:
    seen: set[int] = set()
    total = 0
    for t in trainables:
        if id(t.param) not in seen:
            seen.add(id(t.param))
            total += t.count
    return total


def topk_mask(scores: torch.Tensor, fraction: float) -> torch.Tensor:
    """0/1 mask (scores' dtype float32) of the int(numel * fraction) largest entries of the whole matrix."""
    if not 0.0 < fraction <= 1.0:
        raise InvalidInput(f"sparsity must be in (0, 1], got {fraction}")
    flat = scores.detach().reshape(-1).float()
    k = int(flat.numel() * fraction)
    mask = torch.zeros_like(flat)
    if k > 0:
        mask[torch.topk(flat, k, sorted=False).indices] = 1.0
    return mask.reshape(scores.shape)


class LoRADelta(nn.Module):
    """Low-rank update `scale * (row_mask[:, None] * A) @ B` of a [rows, cols] matrix.

    A is kaiming-uniform (a=sqrt(5)), B zeros, scale = alpha / rank (as released). Rows outside the
    mask get exactly zero gradient in A, so they never move.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        rank: int,
        alpha: float,
        row_mask: torch.Tensor | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        self.lora_A = nn.Parameter(torch.empty(rows, rank, dtype=dtype, device=device))
        self.lora_B = nn.Parameter(torch.zeros(rank, cols, dtype=dtype, device=device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / rank
        mask = torch.ones(rows) if row_mask is None else row_mask.float()
        self.register_buffer("row_mask", mask.to(device=device, dtype=dtype))

    def delta(self, rows: slice | None = None) -> torch.Tensor:
        a = self.lora_A if rows is None else self.lora_A[rows]
        m = self.row_mask if rows is None else self.row_mask[rows]
        return self.scale * ((a * m[:, None]) @ self.lora_B)

    def a_mask(self) -> torch.Tensor:
        return self.row_mask[:, None].expand_as(self.lora_A).clone()


class AddDelta(nn.Module):
    """Parametrization `W -> W + delta` from a (possibly shared) `LoRADelta`, optionally a row slice."""

    def __init__(self, lora: LoRADelta, rows: slice | None = None, transpose: bool = False):
        super().__init__()
        self.lora = lora
        self.rows = rows
        self.transpose = transpose

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        d = self.lora.delta(self.rows)
        return weight + (d.t() if self.transpose else d).to(weight.dtype)


def attach_lora(
    targets: list[tuple[nn.Module, str]],
    rank: int,
    alpha: float,
    row_mask: torch.Tensor | None = None,
    transpose: bool = False,
) -> LoRADelta:
    """Put one LoRA on the row-concatenation of `targets` (e.g. q, k, v weights, or one fused matrix).

    `transpose=True` (single target only) puts the LoRA on the transposed weight, so a projection
    stored [in, out] and one stored [out, in] get the same A [in, r] and B [r, out].
    """
    tensors = [getattr(m, n) for m, n in targets]
    ref = tensors[0]
    shapes = [t.t().shape if transpose else t.shape for t in tensors]
    rows = sum(s[0] for s in shapes)
    lora = LoRADelta(rows, shapes[0][1], rank, alpha, row_mask, ref.dtype, ref.device)
    start = 0
    for (module, name), shape in zip(targets, shapes):
        part = None if len(targets) == 1 else slice(start, start + shape[0])
        parametrize.register_parametrization(module, name, AddDelta(lora, part, transpose))
        start += shape[0]
    return lora


def merge_parametrizations(modules: list[tuple[nn.Module, str]]) -> None:
    """Write every parametrized weight back as a plain parameter holding its current value."""
    for module, name in modules:
        if parametrize.is_parametrized(module, name):
            parametrize.remove_parametrizations(module, name, leave_parametrized=True)


def original(module: nn.Module, name: str) -> nn.Parameter:
    """The underlying parameter of a (possibly parametrized) weight."""
    if parametrize.is_parametrized(module, name):
        return module.parametrizations[name].original
    return getattr(module, name)

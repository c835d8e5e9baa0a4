"""What a training step costs: FLOPs (forward + backward), peak memory, and a summary table.

FLOPs come from `torch.utils.flop_counter.FlopCounterMode`, which counts matrix products only (mm, addmm, bmm,
convolutions, attention kernels) from their shapes; elementwise ops, norms, softmax and reductions count zero.
PyTorch has no formula for the CPU flash-attention kernel that `scaled_dot_product_attention` runs on CPU, so
`count_flops` adds one (torch's own SDPA formulas, as counted on CUDA); without it attention on CPU counts zero.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import torch

T = TypeVar("T")


def _cpu_sdpa_mapping() -> dict[Any, Any]:
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count

    aten = torch.ops.aten

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    return {
        aten._scaled_dot_product_flash_attention_for_cpu: forward,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: backward,
    }


def count_flops(fn: Callable[[], T]) -> tuple[T, int]:
    """Run `fn` under a FLOP counter: (its result, the FLOPs of every matrix product it ran).

    Backward passes run inside `fn` are counted too, so a `fn` doing forward + `loss.backward()` gives a training
    step's count. Works on the meta device (counts come from shapes alone).
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False, custom_mapping=_cpu_sdpa_mapping()) as counter:
        result = fn()
    return result, int(counter.get_total_flops())


class PeakMemory:
    """Peak memory over a `with` block.

    On CUDA: `torch.cuda.max_memory_allocated` after resetting the peak on entry (tensors allocated by PyTorch on
    that device only; kind "cuda_max_allocated"). Elsewhere: the process's peak resident set size since it started
    (`getrusage(RUSAGE_SELF).ru_maxrss`; kind "host_peak_rss") -- process-wide and never reset, so it bounds the
    block's peak from above and includes the interpreter, the libraries and everything run before.
    """

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.kind = "cuda_max_allocated" if self.device.type == "cuda" else "host_peak_rss"
        self.bytes = 0

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = int(torch.cuda.max_memory_allocated(self.device))
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            self.bytes = int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports kB, macOS bytes


@dataclass
class StepCost:
    """One method's cost per training step (None where it was not measured)."""

    trainable: int
    flops_per_step: int | None = None
    peak_memory_bytes: int | None = None
    memory_kind: str = ""
    seconds_per_step: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def cost_table(rows: list[tuple[str, StepCost]]) -> str:
    """A markdown table: method, trainable params, GFLOPs/step, peak memory (MiB, with its kind), s/step."""
    kinds = sorted({c.memory_kind for _, c in rows if c.peak_memory_bytes is not None and c.memory_kind})
    memory = "peak memory MiB" + (f" ({', '.join(kinds)})" if kinds else "")
    lines = [
        f"| method | trainable params | GFLOPs/step | {memory} | s/step |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in rows:
        gflops = None if c.flops_per_step is None else c.flops_per_step / 1e9
        mib = None if c.peak_memory_bytes is None else c.peak_memory_bytes / 2**20
        lines.append(
            f"| {name} | {c.trainable:,} | {_fmt(gflops, '.2f')} | {_fmt(mib, '.0f')} | "
            f"{_fmt(c.seconds_per_step, '.3f')} |"
        )
    return "\n".join(lines)

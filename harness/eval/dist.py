"""Data-parallel evaluation under `torchrun`: the rank, the device each rank binds, item sharding and
stopping every rank when one fails.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them (or with WORLD_SIZE 1 and no RANK) a run is
single-process and nothing here touches torch.distributed. The process group is gloo on CPU and nccl on
CUDA; each rank binds `cuda:LOCAL_RANK` (or the CPU)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as torch_dist

from harness.errors import InvalidInput, UserError

T = TypeVar("T")


class RankFailed(RuntimeError):
    """Another rank of a data-parallel run failed with an error that is not a user error."""


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> str:
        """The device this rank binds: `auto`/`cuda` become `cuda:LOCAL_RANK` when CUDA is there."""
        if not self.active or requested == "cpu" or requested.startswith("cuda:"):
            return requested
        if requested in ("auto", "cuda") and torch.cuda.is_available():
            return f"cuda:{self.local_rank}"
        return "cpu" if requested == "auto" else requested

    def shard(self, items: list[T]) -> list[T]:
        """This rank's items: every WORLD-th from RANK (deterministic, disjoint, covering)."""
        return items[self.rank :: self.world]

    def record_device(self, device: str) -> str:
        """The device as recorded in the fingerprint: the same on every rank (rank 0's `cuda:0`)."""
        return re.sub(r":\d+$", ":0", device) if self.active else device

    def barrier(self) -> None:
        if self.active:
            torch_dist.barrier()

    def check(self, error: BaseException | None) -> None:
        """Collective: every rank learns whether any rank failed; the failing rank re-raises its error, the
        others raise one naming that rank and its message."""
        if not self.active:
            if error is not None:
                raise error
            return
        user = isinstance(error, UserError | ValueError | KeyError | FileNotFoundError)  # what the CLI prints
        mine = None if error is None else (type(error).__name__, str(error), user)
        flags: list[Any] = [None] * self.world
        torch_dist.all_gather_object(flags, mine)
        if error is not None:
            raise error
        failed = [(r, f) for r, f in enumerate(flags) if f is not None]
        if failed:
            r, (name, msg, user) = failed[0]
            text = f"rank {r} failed ({name}): {msg}"
            raise InvalidInput(text) if user else RankFailed(text)


_CURRENT: Dist | None = None


def current(requested_device: str = "auto") -> Dist:
    """This process's place in a torchrun job; the first call initialises the process group."""
    global _CURRENT
    if _CURRENT is not None:
        return _CURRENT
    world = int(os.environ.get("WORLD_SIZE", "1"))
    d = Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))
    if d.active and not torch_dist.is_initialized():
        on_cuda = d.device(requested_device).startswith("cuda")
        if on_cuda:
            torch.cuda.set_device(d.local_rank)
        torch_dist.init_process_group("nccl" if on_cuda else "gloo")
    _CURRENT = d
    return d

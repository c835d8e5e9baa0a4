"""The sweep's cells: one `harness eval` config per (VLM, encoder), its shard and whether it has finished.
Torch-free."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InvalidInput
from harness.eval.config import EvalConfig
from harness.eval.run import finished_results
from harness.sweep.spec import EncoderEntry, SweepSpec, VlmEntry


@dataclass
class Cell:
    vlm: VlmEntry
    encoder: EncoderEntry
    cfg: EvalConfig

    @property
    def name(self) -> str:
        return f"{self.vlm.label}/{self.encoder.label}"

    @property
    def out(self) -> Path:
        return Path(str(self.cfg.out))

    def finished(self) -> bool:
        return finished_results(self.cfg) is not None


def cells(spec: SweepSpec) -> list[Cell]:
    """Every (VLM, encoder) cell, VLM by VLM, in the file's order (a VLM with `encoders` only with those); each
    goes to OUT/<vlm>/<encoder>."""
    options = {k: v for k, v in spec.eval.items() if k != "quiet"}
    out = []
    for v in spec.vlms:
        for e in (e for e in spec.encoders if v.encoders is None or e.label in v.encoders):
            cfg = EvalConfig(
                **options,
                vlm=v.family,
                model=v.model,
                encoder=e.path,
                out=str(spec.out / v.label / e.label),
                label=e.label,
                encoder_meta=e.meta,
                **v.options,
            )
            out.append(Cell(v, e, cfg))
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1 ≤ I ≤ N) → (I, N)."""
    i, sep, n = text.partition("/")
    try:
        shard = (int(i), int(n))
    except ValueError:
        shard = (0, 0)
    if not sep or not 1 <= shard[0] <= shard[1]:
        raise InvalidInput(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return shard


def in_shard(cell: Cell, shard: tuple[int, int]) -> bool:
    """A stable hash of the VLM and encoder labels picks the shard: the same wherever `out` is, and the
    shards 1/N..N/N partition the grid."""
    h = hashlib.sha256(f"{cell.vlm.label}\0{cell.encoder.label}".encode()).digest()
    return int.from_bytes(h[:8], "big") % shard[1] == shard[0] - 1

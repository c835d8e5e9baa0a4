"""Geometry checks every ViT tower kind shares: the differing depth/width/MLP/patch sentences, and the rule
that a checkpoint exactly one block deeper than the tower loses its last block (the VLM reads the
second-last block of the encoder it was built on)."""

from __future__ import annotations

import torch

SHAPE_CHECKS = (
    ("blocks", "depth: checkpoint has {} blocks, tower has {}"),
    ("width", "width: checkpoint hidden size is {}, tower's is {}"),
    ("mlp", "MLP width: checkpoint {}, tower {}"),
    ("patch", "patch size: checkpoint {}, tower {}"),
)


def shape_problems(ckpt: dict[str, int | None], tower: dict[str, int | None]) -> list[str]:
    """One sentence per `SHAPE_CHECKS` entry known on both sides that differs."""
    return [
        what.format(ckpt[key], tower[key])
        for key, what in SHAPE_CHECKS
        if ckpt.get(key) is not None and tower.get(key) is not None and ckpt[key] != tower[key]
    ]


def drop_extra_block(
    ckpt: dict[str, torch.Tensor], ckpt_blocks: int | None, tower_blocks: int | None, why: str
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """`ckpt` without `encoder.layers.<tower_blocks>.*` when it is exactly one block deeper, with the note."""
    if ckpt_blocks is None or tower_blocks is None or ckpt_blocks != tower_blocks + 1:
        return ckpt, []
    out = {k: v for k, v in ckpt.items() if not k.startswith(f"encoder.layers.{tower_blocks}.")}
    return out, [f"dropped block {tower_blocks} of {ckpt_blocks} ({why})"]

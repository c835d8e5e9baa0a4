"""`toy_control`: the toy world's control domain (filled shapes)."""

from __future__ import annotations

from pathlib import Path

from harness.tasks.registry import register
from harness.tasks.toy_world import ToyWorldTask


@register("toy_control")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str = "test") -> ToyWorldTask:
    """Generated toy world, filled shapes (the domain the toy models were trained on)."""
    return ToyWorldTask("control", split, seed)

"""`toy_target`: the toy world's shifted target domain (the same scenes drawn as outlines)."""

from __future__ import annotations

from pathlib import Path

from harness.tasks.registry import register
from harness.tasks.toy_world import ToyWorldTask


@register("toy_target")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str = "test") -> ToyWorldTask:
    """Generated toy world, outlined shapes (the visual shift the encoder update targets)."""
    return ToyWorldTask("target", split, seed)

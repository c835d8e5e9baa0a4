"""Checking converted checkpoint tensors against a tower's state dict before anything is copied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from .kinds import TowerKind

SHOW = 5  # offending keys named per problem


@dataclass
class LoadPlan:
    """What a swap would do: tensors to copy (tower names), and what stays or is dropped."""

    tensors: dict[str, torch.Tensor]
    missing: list[str]
    dropped: list[str]
    position_note: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def shape_text(t: torch.Tensor | torch.Size | tuple[int, ...]) -> str:
    shape = tuple(t.shape) if isinstance(t, torch.Tensor) else tuple(t)
    return str(shape)  # tuple repr: "(64,)", "(64, 3, 8, 8)"


def _some(items: list[str]) -> str:
    more = f"; ... and {len(items) - SHOW} more" if len(items) > SHOW else ""
    return "; ".join(items[:SHOW]) + more


def plan_load(
    converted: dict[str, torch.Tensor],
    tower: Mapping[str, torch.Tensor],
    kind: TowerKind,
    *,
    allow_partial: bool,
    interpolate_pos: bool,
) -> LoadPlan:
    """Compare `converted` (tower names) with `tower`; problems are listed, never fixed silently.

    Structural mismatches (depth, width, patch size, grid) come first, as sentences; then unknown
    tensors, wrong shapes, and missing tensors (a problem unless `allow_partial`). Converted
    tensors the tower lacks but `kind.droppable` allows are dropped and listed.
    """
    notes: list[str] = []
    if kind.prepare is not None:
        converted, notes = kind.prepare(converted, tower)
    problems = kind.structure_problems(converted, tower, interpolate_pos)
    structural = bool(problems)  # allow_partial does not excuse a different architecture
    note = None
    if interpolate_pos:
        converted, note = kind.align_positions(converted, tower)

    unexpected, wrong_shape, dropped = [], [], []
    tensors: dict[str, torch.Tensor] = {}
    for name, value in converted.items():
        if name not in tower:
            if kind.droppable(name):
                dropped.append(name)
            else:
                unexpected.append(f"{name} {shape_text(value)}")
        elif tuple(value.shape) != tuple(tower[name].shape):
            wrong_shape.append(f"{name}: expected {shape_text(tower[name])}, found {shape_text(value)}")
        else:
            tensors[name] = value
    missing = [name for name in tower if name not in converted and not kind.kept(name)]

    if unexpected:
        problems.append(f"{len(unexpected)} unknown tensor(s) that the tower does not have: {_some(unexpected)}")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} tensor(s) with the wrong shape: {_some(wrong_shape)}")
    if missing and (structural or not allow_partial):
        listed = [f"{name} {shape_text(tower[name])}" for name in missing]
        hint = "" if structural else " (pass allow_partial=True to keep them as they are)"
        problems.append(f"{len(missing)} tower tensor(s) missing from the checkpoint{hint}: {_some(listed)}")
    if not tensors and not problems:
        problems.append("no checkpoint tensor matches a tower tensor; nothing to load")
    bad = [name for name, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        problems.append(f"{len(bad)} tensor(s) contain NaN or infinite values: {_some(bad)}")
    return LoadPlan(
        tensors=tensors, missing=missing, dropped=sorted(dropped), position_note=note, problems=problems, notes=notes
    )

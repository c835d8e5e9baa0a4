"""`swap_encoder`: read, detect, convert and validate a checkpoint, then load it all or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from .check import unknown_layout
from .errors import EncoderCheckpointError
from .kinds import CheckpointFormat, TowerKind
from .reader import RawCheckpoint, read_checkpoint
from .registry import detect_format
from .report import SwapReport
from .towers import tower_kind_for, tower_kinds
from .validate import SHOW, plan_load


def swap_encoder(
    tower: torch.nn.Module, path: str | Path, *, allow_partial: bool = False, interpolate_pos: bool = False
) -> SwapReport:
    """Replace `tower`'s weights with the checkpoint at `path` (file or HF directory).

    The format is detected from the keys, converted to the tower's names and checked against
    `tower.state_dict()` before the tower is touched; any problem raises EncoderCheckpointError
    and leaves the tower bit-identical. `allow_partial` accepts tower tensors absent from the
    checkpoint (kept as they are, listed in the report). `interpolate_pos` resizes a position
    embedding of another square grid bicubically (CLS position kept). Tensors are cast to each
    tower tensor's dtype and device and copied in place under `torch.no_grad()`.
    """
    raw = read_checkpoint(path)
    tower_state = tower.state_dict()
    kind = _tower_kind(tower, tower_state)
    fmt = _format(raw, kind)

    ignored = sorted(k for k in raw.tensors if fmt.unused(k))
    used = {k: v for k, v in raw.tensors.items() if not fmt.unused(k)}
    try:
        converted = fmt.convert(used)  # type: ignore[misc]  # _format checked it is not None
    except ValueError as e:
        raise _error(raw, fmt, kind, [str(e)]) from e
    plan = plan_load(converted, tower_state, kind, allow_partial=allow_partial, interpolate_pos=interpolate_pos)
    if plan.problems:
        raise _error(raw, fmt, kind, plan.problems)

    # Every tensor is cast once to check it fits the tower's dtype before any is copied; the copies then cast
    # again one tensor at a time (the same deterministic cast), so no second copy of the weights is held.
    overflow = [
        n
        for n, v in plan.tensors.items()
        if v.is_floating_point() and not torch.isfinite(v.to(dtype=tower_state[n].dtype)).all()
    ]
    if overflow:
        dtype = str(tower_state[overflow[0]].dtype).removeprefix("torch.")
        raise _error(
            raw, fmt, kind, [f"{len(overflow)} tensor(s) overflow when cast to {dtype}: {'; '.join(overflow[:SHOW])}"]
        )

    changes = {kind.block_of(name): 0.0 for name in tower_state}
    changed = 0
    with torch.no_grad():
        # Every check has passed and each planned tensor has the target's shape.
        for name, value in plan.tensors.items():
            target = tower_state[name]
            value = value.to(device=target.device, dtype=target.dtype)
            diff = (value.float() - target.float()).abs().max().item() if value.numel() else 0.0
            block = kind.block_of(name)
            changes[block] = max(changes[block], diff)
            changed += diff > 0
            target.copy_(value)

    return SwapReport(
        format=fmt.name,
        format_description=fmt.description,
        checkpoint=str(raw.path),
        sha256=raw.sha256,
        files=raw.files,
        container=raw.container,
        tower=kind.title,
        tower_dtype=_dtype_text(tower_state),
        tensors_replaced=len(plan.tensors),
        tensors_total=len(tower_state),
        tensors_changed=int(changed),
        left_unchanged=plan.missing,
        ignored=ignored + [f"{name} (the tower has no such tensor)" for name in plan.dropped],
        file_dtypes=raw.dtypes(),
        max_abs_change=changes,
        position_interpolation=plan.position_note,
        notes=raw.notes
        + list(fmt.notes)
        + plan.notes
        + [f"dropped non-tensor entry {k!r}" for k in raw.non_tensor_entries],
    )


def inspect_checkpoint(path: str | Path) -> dict[str, object]:
    """Format detected and key/dtype facts of a checkpoint, without any tower (for CLIs and logs)."""
    raw = read_checkpoint(path)
    fmt = detect_format(raw.tensors, raw.torchscript)
    return {
        "path": str(raw.path),
        "sha256": raw.sha256,
        "container": raw.container,
        "format": fmt.name if fmt else None,
        "family": fmt.family if fmt else None,
        "tensors": len(raw.tensors),
        "dtypes": raw.dtypes(),
        "notes": raw.notes,
    }


def _tower_kind(tower: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> TowerKind:
    kind = tower_kind_for(state)
    if kind is None:
        known = ", ".join(k.title for k in tower_kinds())
        raise EncoderCheckpointError(
            f"cannot swap into a {type(tower).__name__}: its state dict is not a known tower kind "
            f"(known: {known}); nothing was loaded"
        )
    return kind


def _format(raw: RawCheckpoint, kind: TowerKind) -> CheckpointFormat:
    fmt = detect_format(raw.tensors, raw.torchscript)
    if fmt is None:
        raise unknown_layout(raw.path, raw.tensors)
    if fmt.family != kind.family:
        article = "an" if kind.title[:1].upper() in "AEIOU" else "a"
        msg = f"this is {fmt.family_title} checkpoint; the {kind.used_by} tower is {article} {kind.title}"
        raise EncoderCheckpointError(
            f"{raw.path}: {msg} (format detected: {fmt.name}, {fmt.description}); nothing was loaded",
            path=raw.path,
            format=fmt.name,
            problems=[msg],
        )
    if fmt.convert is None:
        msg = f"no conversion is registered for the {fmt.name} format"
        raise EncoderCheckpointError(
            f"{raw.path}: {msg}; nothing was loaded", path=raw.path, format=fmt.name, problems=[msg]
        )
    return fmt


def _error(raw: RawCheckpoint, fmt: CheckpointFormat, kind: TowerKind, problems: list[str]) -> EncoderCheckpointError:
    lines = "\n".join(f"  - {p}" for p in problems)
    return EncoderCheckpointError(
        f"{raw.path}: cannot load this {fmt.name} checkpoint ({fmt.description}) into the "
        f"{kind.title} tower; nothing was loaded:\n{lines}",
        path=raw.path,
        format=fmt.name,
        problems=problems,
    )


def _dtype_text(state: Mapping[str, torch.Tensor]) -> str:
    names = sorted({str(t.dtype).removeprefix("torch.") for t in state.values()})
    return "/".join(names)

"""`check_encoder_file`: an `--encoder`'s format from its tensor names alone, before any model loads, and
without torch wherever the file's names can be read without it (`names`)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from .errors import EncoderCheckpointError
from .kinds import CheckpointFormat
from .names import checkpoint_path, peek_names
from .registry import detect_format, formats


def check_encoder_file(path: str | Path) -> CheckpointFormat:
    """The file's format (no tensor is read); raises when it is missing, unreadable or of no known layout."""
    path = checkpoint_path(path)
    names, torchscript = peek_names(path), False
    if names is None:  # TorchScript, a legacy pickle, pickled objects: torch reads (and refuses) them
        from .reader import read_checkpoint

        raw = read_checkpoint(path, peek=True)
        names, torchscript = list(raw.tensors), raw.torchscript
    fmt = detect_format(names, torchscript)
    if fmt is None:
        raise unknown_layout(path, names)
    return fmt


def unknown_layout(path: Path, names: Collection[str]) -> EncoderCheckpointError:
    keys = ", ".join(sorted(names)[:8])
    known = ", ".join(f.name for f in formats())
    return EncoderCheckpointError(
        f"{path}: no known checkpoint layout matches (known: {known}); nothing was loaded. First keys: {keys}",
        path=path,
        problems=["unrecognised checkpoint layout"],
    )

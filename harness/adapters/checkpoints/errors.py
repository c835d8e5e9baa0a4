"""Errors raised while reading, converting or validating a vision-encoder checkpoint."""

from __future__ import annotations

from pathlib import Path

from harness.errors import InputNotFound, InvalidInput


class EncoderCheckpointError(InvalidInput):
    """A checkpoint that cannot be read or does not fit the tower; nothing was loaded.

    `path`, `format` and `problems` (one line per problem) are kept for callers that want
    structured details; the message already contains all of them.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        format: str | None = None,
        problems: list[str] | tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.path = str(path) if path is not None else None
        self.format = format
        self.problems = list(problems)


class CheckpointNotFoundError(EncoderCheckpointError, InputNotFound):
    """The checkpoint path does not exist (also catchable as FileNotFoundError)."""

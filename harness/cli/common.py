"""What every command shares: the console and the rule that user errors print one line, not a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

console = Console()
T = TypeVar("T")


def guarded(fn: Callable[[], T]) -> T:
    """Known user errors print one clear line instead of a traceback (encoder checkpoint errors are
    ValueError / FileNotFoundError subclasses; WeightsNotFound is a FileNotFoundError)."""
    from harness.eval.config import TooManyErrors
    from harness.eval.records import RunDirMismatch

    known = (RunDirMismatch, TooManyErrors, FileNotFoundError, KeyError, ValueError)
    try:
        return fn()
    except known as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        console.print(f"[bold red]error:[/] {msg}")
        raise typer.Exit(2) from e

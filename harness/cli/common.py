"""What every command shares: the consoles and the rule that user errors print one line, not a traceback.

Exit codes (also in `harness --help`): 0 success; 1 `harness check`: the gate failed; 2 bad input (a
`UserError`: missing or broken file, unknown name, bad option value; nothing was written; or NaN/inf scores
mid-run, the items scored so far kept); 3 internal error (a bug: the traceback is printed with a request to
report it)."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from harness.errors import UserError, one_line

console = Console()
err_console = Console(stderr=True)  # warnings, progress and errors: stdout carries only the requested output
T = TypeVar("T")

EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = UserError.exit_code
EXIT_INTERNAL = 3
EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 `harness check` found a regression; 2 bad input: a missing or broken file, "
    "unknown name or bad option (one-line message, nothing written), or NaN/inf scores mid-run (what was scored "
    "is kept); 3 internal error (a bug: traceback, please report)."
)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body: a `UserError` prints one line naming the input and exits with its code (a wrapped
    library message's line breaks become spaces: `harness.errors.one_line`); any other exception is a bug: its
    traceback is printed with a request to report it, and the exit code is 3."""
    try:
        return fn()
    except UserError as e:
        err_console.print(f"[bold red]error:[/] {escape(one_line(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(e.exit_code) from e
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        err_console.print(
            f"[bold red]internal error:[/] {escape(type(e).__name__)}: this is a bug in harness; please report it "
            "with the command you ran and the traceback above.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from e


def version_callback(value: bool) -> None:
    if value:
        from harness.eval.environment import DISTRIBUTION, harness_version

        console.print(f"{DISTRIBUTION} {harness_version()}", highlight=False)
        raise typer.Exit()


def warn(notes: list[str]) -> None:
    """Warnings go to stderr so that `--json` / `--format csv` output on stdout stays parseable."""
    for n in notes:
        err_console.print(f"[yellow]warning:[/] {escape(n)}", highlight=False, soft_wrap=True)


def emit(text: str, out: Path | None) -> None:
    """A command's output: written to `out` (its folder made) and named on stderr, else printed to stdout."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        err_console.print(f"wrote {out}", highlight=False)
    else:
        typer.echo(text, nl=False)

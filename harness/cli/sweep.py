"""`harness sweep`: parse the options and call the sweep runner."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import console, guarded


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_cmd)


def sweep_cmd(
    spec: Path = typer.Argument(..., help="The sweep file (TOML): out, [eval], [[vlm]], [[encoder]], [plot]."),
    shard: str | None = typer.Option(
        None, help="Run only shard I/N of the cells (by a stable hash of the labels); shards 1/N..N/N cover all."
    ),
    report: bool = typer.Option(
        False, "--report", help="Write the tables from the finished cells and list the others; loads no model."
    ),
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Evaluate a grid of VLMs x encoders from a TOML file, one load per VLM; write its tables and plot.

    Finished cells are skipped, unfinished ones resumed; OUT/tables.md, OUT/tables.csv, OUT/tradeoff.png. When cells
    carry sessions it ends by printing each method after its last session with TI and CC, and the session matrices."""
    from rich.markup import escape

    from harness.sweep.grid import parse_shard
    from harness.sweep.run import run_sweep, sweep_status

    parts = guarded(lambda: parse_shard(shard)) if shard else None
    if report:
        result = guarded(lambda: sweep_status(spec, parts))
    else:
        result = guarded(lambda: run_sweep(spec, parts, progress=not quiet, log=lambda s: console.print(escape(s))))
    for note in result.notes:
        console.print(f"[dim]{escape(note)}[/]")
    for path in result.written:
        console.print(f"wrote {path}")
    if result.unfinished:
        console.print(f"[yellow]{len(result.unfinished)} cells not finished:[/] {escape(', '.join(result.unfinished))}")
    for block in result.text:  # plain text: Markdown, not Rich markup, never wrapped to the terminal
        typer.echo("\n" + block.rstrip("\n"))

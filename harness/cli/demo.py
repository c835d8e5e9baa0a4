"""`harness demo`: the paper's study in miniature on the toy world."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import console, guarded


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)


def demo_cmd(
    cache: Path = typer.Option(
        Path.home() / ".cache" / "harness" / "demo", help="Where the demo's runs, tuned encoders and plot are written."
    ),
    quick: bool = typer.Option(False, help="Two methods and fewer items: under a minute, for first contact."),
) -> None:
    """The paper's study in miniature on the committed toy world (offline, ~2 minutes on 2 cores).

    Zero-shot, five encoder updates, swap, eval, comparison table and trade-off plot."""
    from harness.demo import run_demo

    guarded(lambda: run_demo(cache, quick=quick, console=console))

"""`harness toyworld`: rebuild the toy world's models from scratch."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import console, guarded

toy_app = typer.Typer(
    help="The toy world behind `harness demo`: synthetic shapes, a tiny CLIP and LLaVA.", no_args_is_help=True
)


@toy_app.command("build")
def toyworld_build_cmd(
    out: Path = typer.Option(..., help="Where to write clip/, llava/ and build.json."),
    seed: int = typer.Option(0, help="Seed for data order and initialisation."),
) -> None:
    """Train the toy CLIP and LLaVA from scratch (a few minutes on 2 cores) and compare their metrics with
    the committed build."""
    from harness.toy.build import MODELS_DIR, build_world, compare_to_committed

    def go() -> None:
        meta = build_world(out, seed=seed, log=console.print)
        if (MODELS_DIR / "build.json").exists():
            diffs = compare_to_committed(meta)
            console.print(
                "[green]metrics match the committed build within tolerance[/]"
                if not diffs
                else "[yellow]differs from the committed build:[/]\n" + "\n".join(diffs)
            )

    guarded(go)


def register(app: typer.Typer) -> None:
    app.add_typer(toy_app, name="toyworld")

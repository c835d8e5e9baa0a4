"""The `harness` command line: one module per command group, each registering its commands here."""

from __future__ import annotations

import typer

from harness.cli import continual, data, demo, evaluate, report, sweep, toyworld, tune
from harness.cli.common import EXIT_CODES_HELP, version_callback

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    help="Evaluate a VLM with an updated vision encoder: exact likelihood scoring, run records.\n\n"
    + EXIT_CODES_HELP
    + "\n\nInstalled from the [bold]vlm-harness[/] distribution (`pip install vlm-harness`; PyPI's `harness` is "
    "another project).",
)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Print the distribution and version."
    ),
) -> None:
    pass


for group in (evaluate, sweep, demo, data, toyworld, report, continual, tune):
    group.register(app)

if __name__ == "__main__":
    app()

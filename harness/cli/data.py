"""`harness data`: prepare datasets from their original releases."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import console, guarded

data_app = typer.Typer(help="Prepare datasets from their original releases.", no_args_is_help=True)


@data_app.command("tsi-frames")
def tsi_frames_cmd(
    videos: Path = typer.Option(
        ..., help="Toyota Smarthome trimmed release: the folder of <Action>_pSS_rRR_vVV_cCC.mp4 clips."
    ),
    out: Path = typer.Option(
        ..., help="Folder for the middle frames (<clip>.jpg); re-running skips frames already written."
    ),
) -> None:
    """Extract the middle frame of every Toyota Smarthome clip (deterministic, resumable)."""
    from harness.tasks.frames import extract_middle_frames

    stats = guarded(lambda: extract_middle_frames(videos, out))
    console.print(stats)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")

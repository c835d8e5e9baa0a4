"""`harness cl`: continual-learning report from run records (the session × task matrix and its metrics)."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import emit, err_console, guarded, warn

HELP = (
    "Continual learning: per method the session × task matrix with ACC, BWT, FWT, forgetting and more.\n\n"
    "Metrics: ACC, BWT, FWT, forgetting, MFT/MFN/MAA, target improvement and control change, with 95% intervals "
    "(paired bootstrap over items), and the mean ± sd over orders and seeds. Sessions come from the checkpoints' "
    "export metadata (`harness tune`), `--meta session=N`, or the sweep file's encoder keys (method, order, seed)."
)


def register(app: typer.Typer) -> None:
    app.command("cl", help=HELP)(cl_cmd)


def cl_cmd(
    runs: list[Path] = typer.Argument(
        ..., help="Run directories (or folders of them), or a sweep file (paper.toml) whose cells to read."
    ),
    target: str | None = typer.Option(None, help="The task the sessions train on (default: the exports' task)."),
    controls: str | None = typer.Option(None, help="Comma-separated control tasks (default: every other task)."),
    fmt: str = typer.Option(
        "md", "--format", "-f", help="md | csv | latex | html (a complete page) | html-fragment (the tables, to embed)."
    ),
    out: Path | None = typer.Option(None, help="Write here instead of printing."),
    plot: Path | None = typer.Option(None, help="Also draw each task across sessions (PNG + PDF)."),
    n_boot: int = typer.Option(1000, help="Bootstrap replicates for the intervals (0: none)."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Report on runs that did not see the same items (each column counts the items every checkpoint scored).",
    ),
) -> None:
    """The session × task matrices and their metrics (see HELP)."""
    from harness.report.continual_format import continual_reports, render

    def go() -> None:
        loaded = _runs(runs)
        ctl = [c.strip() for c in controls.split(",") if c.strip()] if controls else None
        reports = continual_reports(loaded, target, ctl, n_boot=n_boot, seed=seed, force=force)
        warn(list(dict.fromkeys(d for r in reports for d in r.seq.differences)))
        warn([f"{r.seq.vlm} {r.seq.label}: {n}" for r in reports for n in r.seq.notes])
        text = render(reports, fmt)
        if plot:
            from harness.report.continual_plot import draw_sessions

            err_console.print(f"wrote {', '.join(map(str, draw_sessions(reports, plot)))}", highlight=False)
        emit(text, out)

    guarded(go)


def _runs(paths: list[Path]):
    """Run records from directories, or from a sweep file's finished cells (its [[encoder]] keys as metadata)."""
    from harness.report.tables import load_runs

    if len(paths) == 1 and paths[0].suffix == ".toml":
        from harness.sweep.grid import cells
        from harness.sweep.report import cell_run
        from harness.sweep.spec import read_spec

        return [cell_run(c) for c in cells(read_spec(paths[0])) if c.finished()]
    return load_runs(paths)

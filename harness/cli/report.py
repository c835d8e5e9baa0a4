"""`harness table`, `compare`, `check` and `plot`: reports from run records (registered by harness.cli)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table as RichTable

from harness import jsonio
from harness.cli.common import EXIT_GATE_FAILED, console, emit, guarded, warn
from harness.errors import InvalidInput
from harness.report.runs import load_run
from harness.report.tables import find_run, load_runs


def table_cmd(
    runs: list[Path] = typer.Argument(..., help="Run directories (or folders of them, e.g. results/runs)."),
    baseline: str | None = typer.Option(
        None, help="Baseline run: a run directory or a label. Default: each VLM's zero-shot run (no encoder swap)."
    ),
    fmt: str = typer.Option(
        "md", "--format", "-f", help="md | latex | csv | html (a complete page) | html-fragment (the tables, to embed)."
    ),
    out: Path | None = typer.Option(None, help="Write here instead of printing."),
    ci: bool = typer.Option(False, "--ci", help="Add ± the half-width of the 95% interval."),
    delta: bool = typer.Option(False, "--delta", help="Add Δ in points vs the baseline row."),
    significance: bool = typer.Option(
        False,
        "--significance",
        help="Mark † where a run differs from its baseline "
        "at p < 0.05 (exact McNemar for accuracy, paired bootstrap otherwise).",
    ),
    force: bool = typer.Option(False, "--force", help="Tabulate runs that did not see the same items."),
    standalone: bool = typer.Option(False, "--standalone", help="LaTeX: a complete compilable document."),
    n_boot: int = typer.Option(2000, help="Bootstrap replicates (AUROC intervals, significance)."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
) -> None:
    """Paper tables from run records: rows per run grouped by VLM, primary metric per task in %."""
    from harness.report.table_format import render
    from harness.report.tables import build_tables

    def go() -> None:
        loaded = load_runs(runs, baseline)
        tables = build_tables(
            loaded, baseline, ci=ci, delta=delta, significance=significance, force=force, n_boot=n_boot, seed=seed
        )
        warn([n for t in tables for n in t.notes])
        text = render(tables, fmt, standalone=standalone)
        emit(text, out)

    guarded(go)


def compare_cmd(
    run_a: Path = typer.Argument(..., help="Run A (e.g. the zero-shot run)."),
    run_b: Path = typer.Argument(..., help="Run B; differences are B − A."),
    metrics: str = typer.Option("primary", help="primary | all (every metric both runs recorded)."),
    n_boot: int = typer.Option(10_000, help="Bootstrap replicates (AUROC: at most 2000)."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    force: bool = typer.Option(
        False, "--force", help="Compare even if the runs did not see the same items (pairs the items both scored)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Paired statistics per task: both runs' metric, B − A with a 95% bootstrap CI, exact McNemar test."""
    from harness.report.comparable import require_comparable
    from harness.report.compare_view import compare_table, comparison_dict
    from harness.report.paired import compare_runs

    def go() -> None:
        a, b = load_run(run_a), load_run(run_b)
        warn(require_comparable([a, b], force))
        if metrics not in ("primary", "all"):
            raise InvalidInput(f"--metrics must be primary or all, got {metrics!r}")
        rows = compare_runs(a, b, metrics, n_boot=n_boot, seed=seed)
        if as_json:
            typer.echo(jsonio.dumps([comparison_dict(r) for r in rows], indent=2))  # strict: NaN → null
            return
        console.print(compare_table(a, b, rows))
        for r in rows:
            if r.note:
                console.print(f"[dim]{r.task} {r.metric}: {r.note}[/]", highlight=False)
        console.print(
            "[dim]Δ = B − A in points; CI: paired bootstrap, 95%; p: exact McNemar (0/1 metrics only); "
            "A✓B✗ / A✗B✓: discordant items.[/]",
            highlight=False,
        )

    guarded(go)


def check_cmd(
    run_dir: Path = typer.Argument(..., help="The run to check."),
    baseline: Path = typer.Option(..., help="Baseline JSON (committed under results/baselines/)."),
    tolerance: float | None = typer.Option(
        None,
        help="Allowed drop in percentage points for every metric. "
        "Default: one-sided statistical bound for a re-run given n.",
    ),
    confidence: float = typer.Option(0.95, help="One-sided level of the default tolerance."),
    update: bool = typer.Option(False, "--update", help="Write the run as the new baseline (deliberately)."),
) -> None:
    """Regression gate: exit 1 when a metric drops beyond the tolerance or the items/prompts changed."""
    from harness.report.gate import check_run, read_baseline, write_baseline

    def go() -> int:
        run = load_run(run_dir)
        if update:
            if baseline.exists():
                old = read_baseline(baseline)
                typer.echo(check_run(run, old, str(baseline), tolerance, confidence).text() + "\n")
            write_baseline(run, baseline)
            n = len(run.tasks)
            typer.echo(f"wrote baseline {baseline} from {run_dir} ({n} task{'s' * (n != 1)}); commit it")
            return 0
        if not 0.5 < confidence < 1:
            raise InvalidInput("--confidence must be between 0.5 and 1")
        report = check_run(run, read_baseline(baseline), str(baseline), tolerance, confidence)
        typer.echo(report.text())
        return 0 if report.passed else EXIT_GATE_FAILED

    code = guarded(go)
    if code:
        raise typer.Exit(code)


def plot_cmd(
    runs: list[Path] = typer.Argument(..., help="Run directories (or folders of them)."),
    target: str = typer.Option(..., help="Target task, e.g. TSI (optionally TASK:metric)."),
    control: str = typer.Option(..., help="Comma-separated control tasks, e.g. VSR,VizWiz,HM."),
    baseline: str | None = typer.Option(
        None, help="Baseline run directory or label (default: each VLM's zero-shot run)."
    ),
    out: Path = typer.Option(Path("tradeoff.png"), help="Figure path; PNG and PDF are both written."),
    force: bool = typer.Option(False, "--force", help="Plot runs that did not see the same items."),
) -> None:
    """Trade-off scatter: gain on the target (x) vs mean change on the controls (y), per method and VLM."""
    from harness.report.comparable import require_comparable
    from harness.report.plot import draw_tradeoff, tradeoff_points

    def go() -> None:
        loaded = load_runs(runs, baseline)
        warn(require_comparable(loaded, force))
        points, tgt, ctl, notes = tradeoff_points(
            loaded, target, [c for c in control.split(",") if c.strip()], baseline
        )
        warn(notes)
        if not points:
            raise InvalidInput("no run to plot (each needs a baseline of its VLM and values for every task)")
        named = find_run(loaded, baseline) if baseline else []
        base_name = named[0].label if named else "zero-shot"
        paths = draw_tradeoff(points, tgt, ctl, out, base_name)
        t = RichTable(title=f"x = Δ {tgt.title}, y = mean Δ of {', '.join(c.title for c in ctl)} (points)")
        for col in ("VLM", "method", "x", "y"):
            t.add_column(col, justify="right" if col in ("x", "y") else "left")
        for p in points:
            t.add_row(p.vlm, p.label, f"{p.x:+.2f}", f"{p.y:+.2f}")
        console.print(t)
        console.print("wrote " + ", ".join(str(p) for p in paths), highlight=False)

    guarded(go)


def report_cmd(
    runs: list[Path] = typer.Argument(..., help="Run directories; the first is the reference (e.g. zero-shot)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write."),
    max_items: int = typer.Option(200, help="Flipped items shown per task (forgotten first)."),
    data_root: Path | None = typer.Option(None, help="Dataset folder for the images (default: as recorded)."),
    data: list[str] = typer.Option([], help="Per-task data location NAME=PATH (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Report on runs that did not see the same items."),
    n_boot: int = typer.Option(10_000, help="Bootstrap replicates for the B − A intervals."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
) -> None:
    """One self-contained HTML page: metrics, flips vs the first run, breakdowns, and the flipped items."""
    from harness.cli.common import guarded
    from harness.cli.evaluate import parse_pairs
    from harness.report.html_report import write_report

    def go() -> None:
        paths = {k: Path(v) for k, v in parse_pairs(data).items()}
        loaded = [load_run(p) for p in runs]
        path, warnings = write_report(
            loaded, out, max_items=max_items, data_root=data_root, data=paths, force=force, n_boot=n_boot, seed=seed
        )
        for w in warnings:
            typer.echo(f"warning: {w}", err=True)
        typer.echo(f"wrote {path}")

    guarded(go)


def register(app: typer.Typer) -> None:
    app.command("table")(table_cmd)
    app.command("compare")(compare_cmd)
    app.command("check")(check_cmd)
    app.command("plot")(plot_cmd)
    app.command("report")(report_cmd)

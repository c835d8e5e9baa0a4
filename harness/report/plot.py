"""Trade-off plot: gain on a target task (x) against the mean change on control tasks (y), per method and VLM.

Each run is one point, compared with its VLM's baseline run (the zero-shot encoder unless `baseline`
names a run label or directory): x = target metric − baseline's, y = mean over the controls of (metric −
baseline's), both in percentage points (official points for a metric kept in them, as MME's; the controls
must share one unit). Upper right = improves the target without forgetting. A task is
named as in tables (`TSI`, `VizWiz`, `DA·E`, or the record name) with an optional `:metric` (`HM:acc`);
without one, its first primary metric is used. Runs missing the target or any control are left out with
a note, never plotted as 0. Matplotlib with the Agg backend; PNG and PDF are written side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import InvalidInput
from harness.report.runs import Run, display_scale, metric_title, primary_metrics, resolve_task, task_title
from harness.report.tables import group_baseline

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


@dataclass(frozen=True)
class TradeoffPoint:
    vlm: str
    label: str
    run_dir: str
    x: float  # target gain, points
    y: float  # mean control change, points
    controls: dict[str, float]  # per control task, points


@dataclass(frozen=True)
class Axis:
    task: str
    metric: str

    @property
    def title(self) -> str:
        return f"{task_title(self.task)} {metric_title(self.metric)}"


def resolve_axis(text: str, runs: list[Run]) -> Axis:
    task, metric = resolve_task(text, {t for r in runs for t in r.tasks})
    if metric is None:
        found = primary_metrics(task, runs)
        if not found:
            raise InvalidInput(f"task {task!r} has no metrics in the runs")
        metric = found[0]
    return Axis(task, metric)


def tradeoff_points(
    runs: list[Run], target: str, controls: list[str], baseline: str | None = None
) -> tuple[list[TradeoffPoint], Axis, list[Axis], list[str]]:
    """The points, the resolved target and control axes, and notes on runs left out."""
    tgt = resolve_axis(target, runs)
    ctl = [resolve_axis(c, runs) for c in controls]
    if not ctl:
        raise InvalidInput("give at least one control task (--control)")
    if len({display_scale(a.metric) for a in ctl}) > 1:
        points_ctl = [a.title for a in ctl if display_scale(a.metric) == 1]
        raise InvalidInput(
            f"the controls mix units: {', '.join(points_ctl)} in official points, the others in %; "
            "their mean would mean nothing (pick a % metric, e.g. --control mme:acc)"
        )
    points, notes = [], []
    for vlm in dict.fromkeys(r.vlm for r in runs):
        group = [r for r in runs if r.vlm == vlm]
        base = group_baseline(group, baseline)
        if base is None:
            notes.append(f"{vlm}: no baseline run (no zero-shot run and no --baseline match); its runs are left out")
            continue
        for run in group:
            if run is base:
                continue
            missing = [
                a.title
                for a in [tgt, *ctl]
                if run.metric(a.task, a.metric) is None or base.metric(a.task, a.metric) is None
            ]
            if missing:
                notes.append(f"{vlm}/{run.label}: left out, no value for {', '.join(missing)} (run or baseline)")
                continue
            x = _change(run, base, tgt)
            per = {a.title: _change(run, base, a) for a in ctl}
            points.append(TradeoffPoint(vlm, run.label, str(run.path), x, sum(per.values()) / len(per), per))
    return points, tgt, ctl, notes


def _change(run: Run, base: Run, axis: Axis) -> float:
    """run − baseline on the axis, in percentage points (or in official points for metrics kept in them)."""
    return display_scale(axis.metric) * (run.metric(axis.task, axis.metric) - base.metric(axis.task, axis.metric))  # type: ignore[operator]


def output_paths(out: Path) -> list[Path]:
    """`fig.png` → [fig.png, fig.pdf] (any other suffix or none: both formats next to the stem)."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in (".png", ".pdf") else out
    return [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".pdf")]


def save_figure(fig, out: Path) -> list[Path]:
    """Save `fig` as PNG and PDF at `out` (see `output_paths`), close it, and return the paths."""
    import matplotlib.pyplot as plt

    paths = output_paths(out)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for path in paths:
        fig.savefig(path)
    plt.close(fig)
    return paths


_OFFSETS = ((5, 4, "left"), (5, -11, "left"), (-5, 4, "right"), (-5, -11, "right"))


def _label_points(ax, points: list[TradeoffPoint]) -> None:
    """Method names next to the points; a point close to already labelled ones gets the next free corner."""
    xs, ys = [p.x for p in points] + [0.0], [p.y for p in points] + [0.0]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    placed: list[TradeoffPoint] = []
    for p in points:
        near = sum(abs(p.x - q.x) / span_x < 0.08 and abs(p.y - q.y) / span_y < 0.06 for q in placed)
        dx, dy, ha = _OFFSETS[near % len(_OFFSETS)]
        ax.annotate(p.label, (p.x, p.y), xytext=(dx, dy), textcoords="offset points", fontsize=8, ha=ha)
        placed.append(p)


def draw_tradeoff(
    points: list[TradeoffPoint], target: Axis, controls: list[Axis], out: Path, baseline_name: str = "zero-shot"
) -> list[Path]:
    """Write the scatter plot as PNG and PDF; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=150)
    ax.axhline(0, color="0.6", lw=0.8, ls="--", zorder=0)
    ax.axvline(0, color="0.6", lw=0.8, ls="--", zorder=0)
    cmap = plt.get_cmap("tab10")
    for i, vlm in enumerate(dict.fromkeys(p.vlm for p in points)):
        mine = [p for p in points if p.vlm == vlm]
        ax.scatter(
            [p.x for p in mine],
            [p.y for p in mine],
            marker=MARKERS[i % len(MARKERS)],
            color=cmap(i % 10),
            s=55,
            label=vlm,
            edgecolors="black",
            linewidths=0.5,
            zorder=3,
        )
    _label_points(ax, points)
    ax.scatter([0], [0], marker="+", color="black", s=80, zorder=2)
    ax.annotate(baseline_name, (0, 0), xytext=(5, -10), textcoords="offset points", fontsize=8, color="0.3")
    xs, ys = [0.0] + [p.x for p in points], [0.0] + [p.y for p in points]
    pad_x, pad_y = max(1.0, 0.15 * (max(xs) - min(xs))), max(1.0, 0.15 * (max(ys) - min(ys)))
    ax.set_xlim(min(xs) - pad_x, max(xs) + pad_x)
    ax.set_ylim(min(ys) - pad_y, max(ys) + pad_y)
    ax.set_xlabel(f"Gain on the target, {target.title} (points vs {baseline_name})")
    ax.set_ylabel(f"Mean change on controls (points vs {baseline_name})\n" + ", ".join(c.title for c in controls))
    ax.set_title("Target gain vs forgetting (upper right is better)", fontsize=10)
    ax.grid(True, lw=0.3, alpha=0.5)
    if points:
        ax.legend(title="VLM", fontsize=8, title_fontsize=8, loc="best")
    fig.tight_layout()
    return save_figure(fig, out)

"""Each task's metric across sessions, one panel per matrix column and one line per method sequence (PNG + PDF):
forgetting that recovers at a later session shows here, where the final numbers alone hide it."""

from __future__ import annotations

import math
from pathlib import Path

from harness.report.continual_format import SequenceReport, columns
from harness.report.plot import save_figure


def draw_sessions(reports: list[SequenceReport], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(c.name for r in reports for c in columns(r.seq)))
    n_cols = min(3, len(names))
    n_rows = math.ceil(len(names) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 3.2 * n_rows), dpi=150, squeeze=False)
    cmap = plt.get_cmap("tab10")
    labels = list(dict.fromkeys(f"{r.seq.vlm} · {r.seq.label}" for r in reports))
    for ax, name in zip(axes.flat, names):
        for r in reports:
            col = next((c for c in columns(r.seq) if c.name == name), None)
            if col is None:
                continue
            label = f"{r.seq.vlm} · {r.seq.label}"
            xs = list(range(len(r.seq.runs)))
            ys = [100 * v for v in col.values()]
            ax.plot(xs, ys, marker="o", ms=3.5, lw=1.2, color=cmap(labels.index(label) % 10), label=label)
            ax.set_xticks(xs)
            metric = col.metric
        ax.set_title(f"{name} ({metric})", fontsize=9)
        ax.set_xlabel("session (0: zero-shot)", fontsize=8)
        ax.set_ylabel("%", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, lw=0.3, alpha=0.5)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles, legend = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, legend, loc="lower center", ncol=min(4, len(legend)), fontsize=7, frameon=False)
    rows_of_legend = math.ceil(len(legend) / 4)
    fig.tight_layout(rect=(0, min(0.3, 0.05 * rows_of_legend / n_rows + 0.02), 1, 1))
    return save_figure(fig, out)

"""The terminal summary: a column per metric while tasks share few, one listing per row otherwise; points
and undefined values shown as such."""

from __future__ import annotations

import io
import math

from rich.console import Console

from harness.report.summary import WIDE_LIMIT, print_summary


def _run(tasks: dict[str, dict[str, tuple[float, float | None]]]) -> dict:
    return {
        "label": "zs",
        "run_dir": "runs/zs",
        "timing": {"items_scored_this_invocation": 4, "wall_seconds": 1.0, "items_per_second": 4.0},
        "tasks": {
            name: {"n": 4, "n_errors": 0, "metrics": {m: {"value": v, "stderr": se} for m, (v, se) in ms.items()}}
            for name, ms in tasks.items()
        },
    }


def _text(runs: list[dict]) -> list[str]:
    out = io.StringIO()
    print_summary(Console(file=out, width=200), runs)
    return out.getvalue().splitlines()


def test_few_metrics_get_a_column_each():
    lines = _text([_run({"vsr": {"acc": (0.5, 0.25), "acc_norm": (0.75, None)}, "hm": {"auroc": (0.625, None)}})])
    head = next(line for line in lines if "task" in line)
    assert [h.strip() for h in head.strip("┃ ").split("┃")][-3:] == ["acc", "acc_norm", "auroc"]
    vsr = next(line for line in lines if " vsr " in line)
    assert "50.0 ± 25.0" in vsr and "75.0" in vsr and "–" in vsr  # hm's AUROC is not a VSR metric


def test_many_metrics_are_listed_per_row_in_their_units():
    pope = {"acc": (0.5, 0.1), "precision": (math.nan, None), "recall": (0.0, None), "f1": (0.0, None)}
    mme = {"perception": (600.0, None), "cognition": (100.0, None), "acc": (0.625, 0.1)}
    assert len(set(pope) | set(mme)) > WIDE_LIMIT
    lines = _text([_run({"pope": pope, "mme": mme})])
    head = next(line for line in lines if "task" in line)
    assert [h.strip() for h in head.strip("┃ ").split("┃")] == ["run", "task", "n", "errors", "metrics"]
    cells = [line.split("│")[-2].strip() for line in lines if line.count("│") > 4]
    assert cells == [
        "acc 50.0 ± 10.0",
        "precision undefined",
        "recall 0.0",
        "f1 0.0",
        "perception 600.0",
        "cognition 100.0",
        "acc 62.5 ± 10.0",
    ]


def test_null_read_back_from_results_json_is_undefined_too():
    """results.json writes an undefined metric as null (harness.jsonio); a finished run re-printed from it still
    says "undefined", and a metric the task does not have stays "–"."""
    lines = _text([_run({"pope": {"acc": (0.5, None), "precision": (None, None)}, "vsr": {"acc_norm": (0.5, None)}})])
    pope = next(line for line in lines if " pope " in line)
    assert "undefined" in pope and "–" in pope and "50.0" in pope

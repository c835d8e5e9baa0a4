"""One `harness eval` of a task through the CLI, for the task tests' end-to-end checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from harness.cli import app


def eval_task(task: str, data_root: Path, model: Path, out: Path, limit: int) -> tuple[dict[str, Any], list[dict]]:
    """`harness eval --tasks TASK --limit N` on the CPU; returns the task's record and the samples."""
    args = ["eval", "--tasks", task, "--data-root", str(data_root), "--model", str(model), "--device", "cpu"]
    res = CliRunner().invoke(app, [*args, "--limit", str(limit), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "results.json").read_text())["tasks"][task]
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    return record, samples

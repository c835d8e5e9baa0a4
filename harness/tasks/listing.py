"""`harness tasks`: what each task reads, and how many items are found under a data root."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.errors import InputNotFound, UserError
from harness.tasks.registry import available, build_task


def print_tasks(console: Console, data_root: Path | None) -> None:
    """The task table; a task missing under an existing `data_root` is listed as not found."""
    if data_root is not None and not Path(data_root).is_dir():
        raise InputNotFound(f"--data-root {data_root}: no such directory")
    table = Table(title="Tasks" + (f" under {data_root}" if data_root else ""))
    for col in ("task", "layout / split", "items", "metrics"):
        table.add_column(col)
    for name, factory in sorted(available().items()):
        doc = (factory.__doc__ or "").strip().splitlines()
        layout, items, metrics = (doc[0] if doc else ""), "–", ""
        if name.startswith("toy_") or (data_root is not None and name != "mcq_jsonl"):
            try:
                task = build_task(name, data_root=data_root)
                info = task.describe()
                layout = str(info.get("layout", layout)) + (f" / {info['split']}" if info.get("split") else "")
                metrics = ", ".join(info.get("metrics", [])) or metrics
                items = str(info.get("items", sum(1 for _ in task.items())))
            except UserError as e:  # the message names the path and the expected layout
                items = "not found: " + str(e).split(". Expected")[0].split(": ", 1)[-1][:70]
        table.add_row(name, layout, items, metrics)
    console.print(table)
    if data_root is None:
        console.print("[dim]Pass --data-root DIR to look for the datasets and count their items.[/]")
    console.print(
        "[dim]Your own data: --tasks mcq_jsonl=PATH with one JSON object per line: "
        '{"id", "image" (relative path), "question", "choices", "answer"}[/]'
    )

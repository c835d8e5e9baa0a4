"""`mcq_jsonl=PATH`: users' own multiple-choice data as JSONL.

Each line: {"id": str, "image": path relative to the file, "question": str, "choices": [str], "answer": int}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from harness.errors import InputNotFound, InvalidInput
from harness.tasks.base import Item, Task
from harness.tasks.registry import register

REQUIRED = {"id": str, "image": str, "question": str, "choices": list, "answer": int}
LAYOUT = (
    "expected a JSONL file with one object per line: "
    '{"id": str, "image": path relative to the file, "question": str, "choices": [str], "answer": int}'
)


class McqJsonlError(InvalidInput):
    """A line of a mcq_jsonl file that cannot be read; the message names the file and line."""


class McqJsonl(Task):
    name = "mcq_jsonl"
    version = "1"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lines: dict[str, int] = {}
        self._items: list[Item] | None = None
        if not self.path.is_file():
            raise InputNotFound(f"mcq_jsonl: no file at {self.path}; {LAYOUT}")

    def items(self) -> Iterator[Item]:
        return iter(self.load()._items or [])

    def load(self) -> Self:
        """Every line parsed now (cached): a broken line anywhere, even the last, fails before anything runs."""
        if self._items is None:
            items = self._read()
            if not items:
                raise McqJsonlError(f"{self.path}: no items (the file holds no JSON lines); {LAYOUT}")
            self._items = items
        return self

    def _read(self) -> list[Item]:
        self._lines = {}
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = self.path.read_bytes()[: e.start].count(b"\n") + 1
            raise McqJsonlError(f"{self.path}:{line}: not UTF-8 text (is it a JSONL file?)") from e
        items: list[Item] = []
        for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
            if not line.strip():
                continue
            row = self._parse(line, n)
            if row["id"] in self._lines:
                raise McqJsonlError(f"{self.path}:{n}: duplicate id {row['id']!r}")
            self._lines[row["id"]] = n
            items.append(
                Item(
                    id=row["id"],
                    image=str(self.path.parent / row["image"]),
                    question=row["question"],
                    choices=tuple(row["choices"]),
                    answer=row["answer"],
                )
            )
        return items

    def where(self, item: Item) -> str:
        return f"{self.path}:{self._lines[item.id]}" if item.id in self._lines else super().where(item)

    def _parse(self, line: str, n: int) -> dict[str, Any]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise McqJsonlError(f"{self.path}:{n}: not valid JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise McqJsonlError(f"{self.path}:{n}: expected a JSON object, got {type(row).__name__}")
        for key, typ in REQUIRED.items():
            if key not in row:
                raise McqJsonlError(f"{self.path}:{n}: missing key {key!r}")
            if not isinstance(row[key], typ) or (typ is int and isinstance(row[key], bool)):
                raise McqJsonlError(f"{self.path}:{n}: {key!r} must be {typ.__name__}, got {row[key]!r}")
        choices = row["choices"]
        if len(choices) < 2 or not all(isinstance(c, str) and c for c in choices):
            raise McqJsonlError(f"{self.path}:{n}: 'choices' must be at least two non-empty strings")
        if not -1 <= row["answer"] < len(choices):
            raise McqJsonlError(f"{self.path}:{n}: 'answer' {row['answer']} is out of range for {len(choices)} choices")
        return row

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "path": str(self.path),
            "layout": "JSONL: id, image (relative path), question, choices, answer",
            "metrics": ["acc", "acc_norm"],
        }


@register("mcq_jsonl")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0) -> McqJsonl:
    if path is None:
        raise InvalidInput("mcq_jsonl needs a file: --tasks mcq_jsonl=PATH")
    return McqJsonl(path)

"""`mcq_jsonl=PATH`: users' own multiple-choice data as JSONL.

Each line: {"id": str, "image": path relative to the file, "question": str, "choices": [str], "answer": int}.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tasks.base import Item, Task
from tasks.registry import register

REQUIRED = {"id": str, "image": str, "question": str, "choices": list, "answer": int}


class McqJsonlError(ValueError):
    pass


class McqJsonl(Task):
    name = "mcq_jsonl"
    version = "1"

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"mcq_jsonl: no file at {self.path}; expected a JSONL file with one object per line: "
                '{"id": str, "image": path relative to the file, "question": str, "choices": [str], "answer": int}'
            )

    def items(self) -> Iterator[Item]:
        seen: set[str] = set()
        with open(self.path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                row = self._parse(line, n)
                if row["id"] in seen:
                    raise McqJsonlError(f"{self.path}:{n}: duplicate id {row['id']!r}")
                seen.add(row["id"])
                yield Item(
                    id=row["id"],
                    image=str(self.path.parent / row["image"]),
                    question=row["question"],
                    choices=tuple(row["choices"]),
                    answer=row["answer"],
                )

    def _parse(self, line: str, n: int) -> dict[str, Any]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise McqJsonlError(f"{self.path}:{n}: not valid JSON ({e.msg})") from e
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
        raise ValueError("mcq_jsonl needs a file: --tasks mcq_jsonl=PATH")
    return McqJsonl(path)

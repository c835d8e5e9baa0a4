"""Reading datasets as released: the data root, typed errors that name the expected layout, JSONL/CSV readers."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import InputNotFound, InvalidInput

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".webp")


class DatasetNotFound(InputNotFound):
    """A dataset root or one of its files is missing; the message names the path and the layout expected."""


class DatasetFormatError(InvalidInput):
    """A dataset file exists but cannot be read as its release format (or holds no items)."""


def resolve_root(task: str, path: Path | None, data_root: Path | None, folder: str, layout: str) -> Path:
    """`path` if given, else `data_root/folder`; raises `DatasetNotFound` when neither exists."""
    if path is not None:
        root = Path(path)
    elif data_root is not None:
        root = Path(data_root) / folder
    else:
        raise DatasetNotFound(
            f"{task}: no data location; pass --data-root DIR (reads DIR/{folder}) or --data {task}=PATH. "
            f"Expected layout: {layout}"
        )
    if not root.exists():
        raise DatasetNotFound(f"{task}: {root} does not exist. Expected layout: {layout}")
    return root


def split_file(task: str, root: Path, name: str, layout: str) -> Path:
    """`root/name` (one split's annotation file); when it is missing, the error lists the files of its kind
    that are there and how to pick one."""
    file = Path(root) / name
    if not file.is_file():
        ext = file.suffix
        present = sorted(p.name for p in Path(root).glob(f"*{ext}")) if Path(root).is_dir() else []
        raise DatasetNotFound(
            f"{task}: {file} not found (present: {present or f'no {ext} files'}; pick one with --tasks "
            f"{task}:<split> or --data {task}={root}/<file>{ext}). Expected layout: {layout}"
        )
    return file


def stable_hash(*parts: Any) -> int:
    """A process-independent 64-bit hash (Python's `hash` is salted per process)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def hash_order(ids: Iterable[str]) -> list[str]:
    """Ids in sha256 order: a class-mixed order, so `--limit N` does not take one class, independent of files."""
    return sorted(ids, key=lambda i: (stable_hash("order", i), i))


def read_text(path: Path, label: str = "") -> str:
    """File text with a UTF-8 BOM removed; CRLF and LF both accepted by the callers. A binary or non-UTF-8
    file raises `DatasetFormatError` naming `label` (e.g. the option) and the file."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DatasetFormatError(f"{label + ' ' if label else ''}{path}:{line}: not UTF-8 text (binary?)") from e


def read_json(path: Path, label: str = "", expect: type = dict) -> Any:
    """A JSON file's content, which must be of type `expect`; errors name `label` and the file, and say
    where a truncated or broken file stops being JSON."""
    where = f"{label + ' ' if label else ''}{path}"
    if not Path(path).is_file():
        raise InputNotFound(f"{where}: no such file")
    text = read_text(path, label)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        hint = " (empty file)" if not text.strip() else " (truncated?)" if e.pos >= len(text.rstrip()) else ""
        raise DatasetFormatError(f"{where}: not valid JSON at line {e.lineno} column {e.colno}: {e.msg}{hint}") from e
    if not isinstance(data, expect):
        want = {dict: "object", list: "array"}.get(expect, expect.__name__)
        raise DatasetFormatError(f"{where}: expected a JSON {want}, got {type(data).__name__}")
    return data


def read_jsonl(path: Path, error: type[ValueError] = DatasetFormatError) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; errors (of type `error`) name the file and line."""
    out = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{path}:{n}: not valid JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise error(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        out.append((n, row))
    return out


def read_csv(path: Path, delimiter: str, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) with stripped header names; blank lines (even before the header) are skipped."""
    rows = [
        (n, r)
        for n, r in enumerate(csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter), 1)
        if any(c.strip() for c in r)
    ]
    if not rows:
        raise DatasetFormatError(f"{path}: empty CSV file (expected a header with {', '.join(required)})")
    header = [h.strip() for h in rows[0][1]]
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetFormatError(f"{path}: header {header} lacks {missing} (is the delimiter {delimiter!r}?)")
    return [(n, {h: c.strip() for h, c in zip(header, r)}) for n, r in rows[1:]]


def parse_int(value: Any, where: str, field: str) -> int:
    """An int from an int or a digit string; rejects bools and anything else with a located error."""
    if isinstance(value, bool):
        raise DatasetFormatError(f"{where}: {field!r} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise DatasetFormatError(f"{where}: {field!r} must be an integer, got {value!r}")


def image_files(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted, hidden files (e.g. partial writes) excluded."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )

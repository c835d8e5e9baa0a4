"""A sweep [[vlm]] table's links to the rest of the file: `peft` as a directory or a glob of them, `encoders` (the
[[encoder]] labels it is crossed with) and `base` (the [[vlm]] its cells are reported under). Torch-free."""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Any

from harness.errors import InputNotFound, InvalidInput


def peft_dirs(text: Any, where: Path, what: str) -> list[str]:
    """The adapter directories `text` names (relative to `where`): one, or every directory a glob matches, in
    session order (`session-2` before `session-10`)."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what}: expected a path string, got {text!r}")
    p = Path(text).expanduser()
    pattern = str(p if p.is_absolute() else where / p)
    if not glob.has_magic(pattern):
        if not Path(pattern).exists():
            raise InputNotFound(f"{what} {text}: no such file or directory ({pattern})")
        return [pattern]
    found = sorted((m for m in glob.glob(pattern) if Path(m).is_dir()), key=_natural)
    if not found:
        raise InputNotFound(f"{what} {text}: the pattern matches no directory ({pattern})")
    return found


def vlm_links(raw: dict[str, Any], what: str) -> tuple[list[str] | None, str | None]:
    """(`encoders`, `base`) of one [[vlm]] table, type-checked."""
    encoders = raw.get("encoders")
    if encoders is not None and (
        not isinstance(encoders, list) or not encoders or not all(isinstance(e, str) for e in encoders)
    ):
        raise InvalidInput(f'{what} encoders: expected a list of [[encoder]] labels, e.g. ["zero-shot"]')
    base = raw.get("base")
    if base is not None and not isinstance(base, str):
        raise InvalidInput(f"{what} base: expected the label of another [[vlm]], got {base!r}")
    if base is not None and "peft" not in raw:
        raise InvalidInput(f"{what} base {base!r}: only a [[vlm]] with a peft adapter is reported under another")
    return encoders, base


def _natural(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]

"""An MMVP fixture in the release layout (Questions.csv + `MMVP Images/<Index>.jpg`), with tiny generated images.

Rows marked "real" are the release's, as quoted in the README of tsb0601/MMVP-derived datasets and in the
issues that report the disputed labels (tsb0601/MMVP #14, lmms-lab-eval/MMVP's card); the others follow the
format, with the pair's second label the opposite of the first as in every release pair.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tests.harness.tasks.fixtures import write_image

HEADER = ("Index", "Question", "Options", "Correct Answer")
_BUTTERFLY = "Are the butterfly's wings closer to being open or closed?"
_TUSKS = "Does the elephant have long or short tusks?"
_ELDER = "Is the elderly person standing or sitting in the picture?"
_BACKGROUND = "How would you describe the background of the image?"
_BACKGROUND_OPTIONS = (
    "(a) Light shining through the clouds from the upper right corner (b) Most of the background is dark and cloudy"
)
ROWS: list[tuple[int, str, str, str]] = [
    (1, _BUTTERFLY, "(a) Open (b) Closed", "(a)"),  # real
    (2, _BUTTERFLY, "(a) Open (b) Closed", "(b)"),  # real
    (3, "Is the flame of the match more round or thin?", "(a) Round (b) Thin", "(a)"),
    (4, "Is the flame of the match more round or thin?", "(a) Round (b) Thin", "(b)"),  # real
    (5, "Is the dog facing left or right from the camera's perspective?", "(a) Left (b) Right", "(b)"),
    (6, "Is the dog facing left or right from the camera's perspective?", "(a) Left (b) Right", "(a)"),
    (7, "Is there a shadow on the flower?", "(a) Yes (b) No", "(a)"),
    (8, "Is there a shadow on the flower?", "(a) Yes (b) No", "(b)"),
    (99, _TUSKS, "(a) Long (b) Short", "(a)"),  # real, disputed (the image shows short tusks)
    (100, _TUSKS, "(a) Long (b) Short", "(b)"),  # real, disputed
    (279, _ELDER, "(a) Standing (b) Sitting", "(a)"),  # real, disputed (issue #14: the person sits)
    (280, _ELDER, "(a) Standing (b) Sitting", "(b)"),  # real, disputed
    (299, _BACKGROUND, _BACKGROUND_OPTIONS, "(a)"),
    (300, _BACKGROUND, _BACKGROUND_OPTIONS, "(b)"),  # real
]


def csv_text(rows: list[tuple[int, str, str, str]] | list[list[str]], header: tuple[str, ...] = HEADER) -> str:
    """The rows as the release writes them (comma-separated, quoted where a cell needs it)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def build_mmvp(
    root: Path, image_dir: str = "MMVP Images", rows: list | None = None, missing: tuple[int, ...] = ()
) -> Path:
    """Questions.csv and one 16×16 JPEG per row (but those in `missing`) under `root`. Returns `root`."""
    rows = ROWS if rows is None else rows
    root.mkdir(parents=True, exist_ok=True)
    (root / "Questions.csv").write_text(csv_text(rows), encoding="utf-8")
    (root / image_dir).mkdir(exist_ok=True)
    for r in rows:
        if int(r[0]) not in missing:
            write_image(root / image_dir / f"{r[0]}.jpg", 2900 + int(r[0]))
    return root


def full_rows(n: int = 300) -> list[tuple[int, str, str, str]]:
    """`n` rows in the release's shape (consecutive pairs, the pair's labels opposite), for count checks."""
    return [
        (i, f"Question of pair {(i + 1) // 2}?", "(a) One (b) Two", "(a)" if (i + (i + 1) // 2) % 2 else "(b)")
        for i in range(1, n + 1)
    ]


def sample(item: Any, pred: int, error: str | None = None, **extra: Any) -> dict[str, Any]:
    """A recorded sample of `item` with prediction `pred` (the fields the metrics read)."""
    return {"id": item.id, "answer": item.answer, "pred": pred, "meta": item.meta, "error": error, **extra}


def pairs_both_right(right: dict[str, bool]) -> float:
    """Index n and n+1 (n odd) are a pair: the share of pairs present in full with both right (the reference)."""
    pairs: dict[int, list[bool]] = {}
    for i, ok in right.items():
        pairs.setdefault((int(i) + 1) // 2, []).append(ok)
    full = [all(v) for v in pairs.values() if len(v) == 2]
    return sum(full) / len(full)

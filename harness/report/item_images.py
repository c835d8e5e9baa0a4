"""The report's pictures: each task re-opened from its data through its task module, and JPEG thumbnails
embedded as data URIs.

Where the data is: `--data-root` / `--data NAME=PATH` when given, else what each run's results.json
recorded (its task spec, `data_root`, `data` and `seed`), tried run by run. Only the item ids are used to
find the images; questions come from the data too (the records hold only the full prompt).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from harness.report.runs import Run, split_key
from harness.tasks.base import ImageError, Item, Task
from harness.tasks.registry import build_task

MAX_SIDE = 256
IMAGE_BYTES_TOTAL = 2_500_000  # all thumbnails of one page together (before base64)
IMAGE_BYTES_MAX = 16_000  # one thumbnail, when the total allows it
IMAGE_BYTES_MIN = 2_000
QUALITIES = (80, 65, 50, 35)


@dataclass
class TaskData:
    """A task opened from its data, or why it could not be (then `task` is None)."""

    key: str
    task: Task | None
    items: dict[str, Item]
    where: str  # the data location used, or the reason there is none

    def item(self, item_id: str) -> Item | None:
        return self.items.get(item_id)

    def image(self, item_id: str) -> Image.Image | str:
        """The item's image, or a sentence saying why there is none."""
        it = self.items.get(item_id)
        if self.task is None or it is None:
            return "no image: the item is not in the data" if self.task is not None else "no image: no data"
        try:
            return self.task.load_image(it)
        except (ImageError, OSError) as e:
            return f"no image: {e}"


def _attempts(
    runs: list[Run], key: str, data_root: Path | None, data: dict[str, Path]
) -> list[tuple[str, Path | None, dict[str, Path], int]]:
    """(spec, data root, per-task paths, seed) to try: the user's locations first, then each run's record."""
    name = split_key(key)[0]
    out = []
    for r in runs:
        cfg = r.results.get("config") or {}
        spec = str((r.tasks.get(key) or {}).get("spec") or key)
        rec_root = Path(cfg["data_root"]) if cfg.get("data_root") else None
        rec_data = {k: Path(v) for k, v in (cfg.get("data") or {}).items()}
        seed = int(cfg.get("seed") or 0)
        if data_root is not None or name in data:
            user_spec = spec.partition("=")[0] if name in data else spec
            out.append((user_spec, data_root or rec_root, {**rec_data, **data}, seed))
        out.append((spec, rec_root, rec_data, seed))
    seen, unique = set(), []
    for a in out:
        sig = (a[0], str(a[1]), tuple(sorted((k, str(v)) for k, v in a[2].items())), a[3])
        if sig not in seen:
            seen.add(sig)
            unique.append(a)
    return unique


def open_task_data(
    runs: list[Run], key: str, ids: list[str], data_root: Path | None = None, data: dict[str, Path] | None = None
) -> TaskData:
    """The task of `key` re-built from its data, holding the items `ids` names; a TaskData without a task
    (and the reason) when no location works."""
    reasons = []
    for spec, root, paths, seed in _attempts(runs, key, data_root, data or {}):
        try:
            task = build_task(spec, data_root=root, data=paths, seed=seed)
            wanted = set(ids)
            items = {it.id: it for it in task.items() if it.id in wanted}
        except (OSError, ValueError, KeyError, TypeError) as e:
            reasons.append(str(e.args[0] if isinstance(e, KeyError) and e.args else e))
            continue
        if ids and not items:
            reasons.append(f"{spec}: none of the flipped items is in the data found there")
            continue
        where = str(root) if root is not None else str(paths.get(split_key(key)[0]) or spec.partition("=")[2] or "")
        return TaskData(key, task, items, where or "generated")
    name = split_key(key)[0]
    hint = f"pass --data-root DIR or --data {name}=PATH to show images"
    reason = reasons[-1] if reasons else "no data location recorded"
    return TaskData(key, None, {}, f"{reason} ({hint})")


def image_budget(n_images: int) -> int:
    """Bytes one thumbnail may take so that `n_images` stay within IMAGE_BYTES_TOTAL."""
    return max(IMAGE_BYTES_MIN, min(IMAGE_BYTES_MAX, IMAGE_BYTES_TOTAL // max(n_images, 1)))


def thumbnail_jpeg(image: Image.Image, budget: int = IMAGE_BYTES_MAX, max_side: int = MAX_SIDE) -> bytes:
    """A JPEG of at most `max_side` px a side; quality, then size, drops until it fits `budget` bytes."""
    im = image.convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    while True:
        for q in QUALITIES:
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=q, optimize=True)
            if buf.tell() <= budget:
                return buf.getvalue()
        if max(im.size) <= 48:
            return buf.getvalue()
        im = im.resize((max(1, im.width * 3 // 4), max(1, im.height * 3 // 4)), Image.Resampling.LANCZOS)


def data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def item_text(data: TaskData, item_id: str, sample: dict[str, Any]) -> tuple[str, bool]:
    """(question, from the data?) — without the data, the recorded prompt stands in."""
    it = data.item(item_id)
    if it is not None:
        return it.question, True
    return str(sample.get("prompt") or ""), False

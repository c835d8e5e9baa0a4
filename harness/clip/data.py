"""Training data for encoder tuning: captioned images, templates, harness-task adapter, loaders.

`CaptionedImages` is a list of (image path or PIL image, class index), the class captions and the
prompt templates. `from_task` builds one from a harness task: the caption is `meta["caption"]` or the
correct choice, the class index `meta["class_index"]` / `meta["class_id"]` or the caption's position
in the task's labels. `meta["action"]` / `meta["class_key"]` (e.g. a TSI action) become class keys,
so two classes may share a caption. Each sample keeps its item's meta (`meta`, not fingerprinted): the official
continual sessions of some tasks are drawn by it (VSR's "obj", VisOnlyQA's "category", CounterAnimal's "imagenet_id").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.captions import GTSRB_CLASSNAMES


@dataclass(frozen=True)
class TaskImage:
    """A file the task opens its own way (FGVC-Aircraft's banner crop, MMVP's located errors): read through the
    task's `load_image` when a batch needs it, so training sees what evaluation sees."""

    task: Any
    item: Any

    def __fspath__(self) -> str:  # the file, for names and sizes (fingerprints, official sample orders)
        return str(self.item.image)

    def open(self) -> Image.Image:
        return self.task.load_image(self.item).convert("RGB")


ImageRef = str | Path | Image.Image | TaskImage
GTSRB_TEMPLATES = (
    'a zoomed in photo of a "{}" traffic sign.',
    'a centered photo of a "{}" traffic sign.',
    'a close up photo of a "{}" traffic sign.',
)
ACTION_TEMPLATES = ("a photo of a person {}",)
TASK_TEMPLATES: dict[str, tuple[str, ...]] = {
    "gts": GTSRB_TEMPLATES,
    "gtsrb": GTSRB_TEMPLATES,
    "tsi": ACTION_TEMPLATES,
    "dalle": ACTION_TEMPLATES,
    # LoRSU's CLIP training templates (src/clip_ft/datasets/fgvc_aircraft.py, eurosat.py; CLIP_benchmark's too)
    "aircraft": ("a photo of a {}, a type of aircraft.", "a photo of the {}, a type of aircraft."),
    "eurosat": (
        "a centered satellite photo of {}.",
        "a centered satellite photo of a {}.",
        "a centered satellite photo of the {}.",
    ),
}
DEFAULT_TEMPLATES = ("{}",)


@dataclass
class CaptionedImages:
    """Images with a class each; class `i` is described by `class_names[i]` through `templates`."""

    samples: list[tuple[ImageRef, int]]
    class_names: list[str]
    templates: Sequence[str] = DEFAULT_TEMPLATES
    class_keys: list[str] | None = None
    name: str = ""
    ids: list[str] | None = field(default=None, repr=False)
    # each sample's task meta (e.g. VSR's "obj"): what continual sessions are drawn by; not in the fingerprint
    meta: list[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.class_names)
        bad = [c for _, c in self.samples if not 0 <= c < n]
        if bad:
            raise InvalidInput(f"class index {bad[0]} outside 0..{n - 1}")
        if not self.templates or any("{}" not in t for t in self.templates):
            raise InvalidInput(f"every template needs a '{{}}' placeholder: {list(self.templates)}")
        if self.class_keys is not None and len(self.class_keys) != n:
            raise InvalidInput("class_keys must have one entry per class")
        if self.meta is not None and len(self.meta) != len(self.samples):
            raise InvalidInput("meta must have one entry per sample")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def labels(self) -> list[int]:
        return [c for _, c in self.samples]

    @property
    def keys(self) -> list[str]:
        return list(self.class_keys) if self.class_keys is not None else list(self.class_names)

    def text(self, class_index: int, template_index: int) -> str:
        return self.templates[template_index].format(self.class_names[class_index])

    def image(self, i: int) -> Image.Image:
        ref = self.samples[i][0]
        if isinstance(ref, Image.Image):
            return ref.convert("RGB")
        if isinstance(ref, TaskImage):
            return ref.open()
        with Image.open(ref) as im:
            return im.convert("RGB")

    def subset(self, indices: Sequence[int]) -> CaptionedImages:
        ids = [self.ids[i] for i in indices] if self.ids is not None else None
        meta = [self.meta[i] for i in indices] if self.meta is not None else None
        return CaptionedImages(
            [self.samples[i] for i in indices], self.class_names, self.templates, self.class_keys, self.name, ids, meta
        )

    def fingerprint(self) -> str:
        """sha256 over class names, templates and (image id, class) pairs.

        The image id is the item id when known, else the file name and size, else the pixels.
        """
        h = hashlib.sha256()
        h.update(json.dumps([self.class_names, list(self.templates), self.class_keys]).encode())
        for i, (ref, c) in enumerate(self.samples):
            h.update(f"\x1e{c}\x1f".encode())
            if self.ids is not None:
                h.update(self.ids[i].encode())
            elif isinstance(ref, Image.Image):
                h.update(ref.tobytes())
            else:
                p = Path(ref)
                h.update(f"{p.name}|{p.stat().st_size if p.exists() else -1}".encode())
        return h.hexdigest()


def templates_for(task: str) -> tuple[str, ...]:
    """The released training templates for a task name (GTSRB: 3 CLIP templates; actions: 1)."""
    return TASK_TEMPLATES.get(task.partition("=")[0], DEFAULT_TEMPLATES)


def from_task(task: Any, templates: Sequence[str] | None = None, limit: int | None = None) -> CaptionedImages:
    """Captioned images from a harness task's items (see the module docstring)."""
    items = list(task.items())[:limit]
    if not items:
        raise InvalidInput(f"task {getattr(task, 'name', task)!r} has no items")
    name = getattr(task, "name", "")
    labels = list(getattr(task, "labels", None) or (GTSRB_CLASSNAMES if name in ("gts", "gtsrb") else []))
    captions = [it.meta.get("caption") or it.choices[it.answer] for it in items]
    keys = [it.meta.get("class_key") or it.meta.get("action") for it in items]
    explicit = [it.meta.get("class_index", it.meta.get("class_id")) for it in items]
    class_keys: list[str] | None = None
    if all(k is not None for k in keys):
        order = list(dict.fromkeys(keys))
        class_keys = [str(k) for k in order]
        first = {k: cap for k, cap in zip(reversed(keys), reversed(captions))}
        names = [first[k] for k in order]
        classes = [order.index(k) for k in keys]
    elif all(e is not None for e in explicit):
        classes = [int(e) for e in explicit]
        n = max(classes) + 1
        by_index = dict(zip(classes, captions))
        names = labels if len(labels) >= n else [by_index.get(i, f"class {i}") for i in range(n)]
    else:
        names = list(labels)
        for cap in captions:
            if cap not in names:
                names.append(cap)
        classes = [names.index(cap) for cap in captions]
    refs = checked_images(task, items)
    return CaptionedImages(
        [(ref, c) for ref, c in zip(refs, classes)],
        list(names),
        tuple(templates or templates_for(name)),
        class_keys,
        name,
        [it.id for it in items],
        [dict(it.meta) for it in items],
    )


def checked_images(task: Any, items: list[Any]) -> list[Image.Image | str]:
    """Every item's image, checked before training starts: a readable file (its path is returned, or a `TaskImage`
    when the task opens files its own way) or an image the task renders (e.g. the generated toy world). Raises
    naming the data file and line of each bad one."""
    from harness.tasks.base import ImageError, Task

    own = hasattr(task, "load_image") and getattr(type(task), "load_image", None) is not Task.load_image

    refs: list[Image.Image | str] = []
    bad: list[str] = []
    where = getattr(task, "where", lambda it: f"item {it.id!r}")
    for it in items:
        if Path(it.image).is_file():
            try:
                with Image.open(it.image) as im:
                    im.verify()
            except Exception as e:  # PIL raises many types for corrupt files
                bad.append(f"{where(it)}: cannot read image {it.image} ({type(e).__name__})")
            refs.append(TaskImage(task, it) if own else it.image)
        elif hasattr(task, "load_image"):
            try:
                refs.append(task.load_image(it))
            except ImageError as e:
                bad.append(f"{where(it)}: {e}")
        else:
            bad.append(f"{where(it)}: image not found: {it.image}")
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise InvalidInput(f"{len(bad)} of {len(items)} training images cannot be read: {'; '.join(bad[:3])}{more}")
    return refs


def task_split(spec: str, data_root: Path | None, split: str, seed: int = 0) -> Any:
    """Build a harness task on `split`.

    A task factory taking `split` (e.g. `tsi`) gets it directly; otherwise the task is built as
    registered and, when its class takes a `split` (e.g. `gts`), rebuilt on `split`.
    """
    import inspect

    from harness.tasks.registry import available, build_task

    name, _, arg = spec.partition("=")
    factory = available().get(name)
    if factory is not None and "split" in inspect.signature(factory).parameters:
        return factory(path=Path(arg) if arg else None, data_root=data_root, seed=seed, split=split)
    task = build_task(spec, data_root=data_root, seed=seed)
    if getattr(task, "split", split) == split:
        return task
    try:
        other = type(task)(task.root, split=split, seed=seed)
    except TypeError as e:
        raise InvalidInput(
            f"task {spec!r} gives the {task.split!r} split and cannot give {split!r}; "
            f"pass --split {task.split} or point the task at training data"
        ) from e
    return other.load() if hasattr(other, "load") else other

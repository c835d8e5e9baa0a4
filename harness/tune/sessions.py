"""Protocols: offline (one session on the whole split) and continual few-shot, drawn as the released LoRSU code
draws them (`src/clip_ft/data_utils.py::get_cl_dataloaders`, `src/llava/train/train_llm.py`; constants in
`harness.tune.official_orders`, draws in `harness.tune.official_sessions`).

Rules by task name (`--task`, else the data's name):
- gts, aircraft, eurosat, counteranimal: the code's class-id order split by `np.array_split` (GTSRB 9/9/9/8/8,
  Aircraft 20 each, EuroSAT 2 each, CounterAnimal 9 each); per session the samples of its classes in the Dataset's
  order, then `np.random.seed(seed)` anew and `np.random.choice(class positions, shots, replace=False)` per class
  in ascending class id (a class with <= shots images gives them all).
- tsi: the five action groups (training subjects are the task's train split); per description (caption) the
  code's `random.shuffle` / `random.seed(seed + 2k)` chain, whose state carries from one session to the next.
- vsr: the five object groups (item meta "obj"), `random.seed(seed); random.shuffle`, first 100/300/600.
- hm: a seeded rule (below), 100/300/600 per session. mmvp: 30 training questions per session (item meta
  "index" = Questions.csv's Index, else the item id). visonlyqa: the code's categories (item meta "category",
  "question_type"), one `np.random.seed(seed)` per session, a permutation per category.
- any other task: a `np.random.RandomState(seed)` permutation of the classes split the same way, shots drawn as
  for gts (seed reset per session) in the data's order.

Sample orders assumed (the code's Datasets list samples in these orders; positions are drawn in them):
- GTSRB: torchvision's `GTSRB(split="train")`, class folders then sorted file names: the harness sorts by file
  name (Kaggle names sort the same way within a class). TSI: `os.listdir`, taken as sorted file names.
- Aircraft: `images_variant_trainval.txt` order (torchvision) = the task's order. VSR, HM, MMVP, VisOnlyQA: the
  release file's row order = the task's order. EuroSAT: the unreleased `eurosat_split.pkl`: the task's order.
- CounterAnimal: class folders in `os.listdir` order, taken as sorted folder names ("<id> <name>", i.e. ids
  sorted as strings), images in the task's order (the unreleased pkl's lists), then the code's seeded
  permutation of all training images before the per-session draw. Only the counter-background images (meta
  "group" == "counter") are drawn from, as the code reads each class's counter-* folder; the unreleased pkl's
  train/test split of them is not reproduced (the data given is the training set).
- VisOnlyQA: with meta "row" (the row in its category's split) and "category_size" (the split's length, every
  question type counted) the permutation runs over the whole split, so a copy without the multiple-answer rows
  draws the code's rows; without them the items given are taken as the whole split.

Deviations from the code, and why:
- CounterAnimal (LLaVA objective): the released list trains class 30 twice and never 33; its second 30 is
  replaced by 33 (`official_orders.deduplicated`), so the sessions stay disjoint and cover the 45 classes. The
  CLIP objective's list has no repeat and is used as released.
- TSI: the code iterates a Python `set` of descriptions (its order changes with PYTHONHASHSEED); the harness
  takes them sorted. The first shuffle is taken to start from `random.seed(seed)` (the code's `set_seed`).
- Hateful Memes: `data_per_session.pkl` is unreleased; the sessions are disjoint parts of a seeded permutation
  of train.jsonl's rows (`official_sessions.hm_sessions`).
- Session counts other than 5 for TSI fall back to the seeded class permutation; VSR and VisOnlyQA have only
  their five lists and refuse other counts.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.clip.data import CaptionedImages
from harness.errors import InvalidInput
from harness.tasks.captions import GTSRB_CLASSNAMES, TSI_ACTION_CAPTIONS
from harness.tune import official_sessions as draw
from harness.tune.official_orders import (
    AIRCRAFT_ORDER,
    COUNTERANIMAL_CLIP_ORDER,
    COUNTERANIMAL_LLAVA_ORDER,
    EUROSAT_ORDER,
    GTSRB_ORDER,
    TSI_SESSIONS,
    VISONLYQA_CATEGORIES,
    VSR_OBJECTS,
)

__all__ = ["GTSRB_ORDER", "TSI_SESSIONS", "Session", "class_groups", "plan_sessions", "task_name"]
Planned = list[tuple[tuple[int, ...], list[int], tuple[Any, ...]]]  # (classes, sample indices, official group)


@dataclass(frozen=True)
class Session:
    index: int  # 1-based
    classes: tuple[int, ...]  # class indices of the CaptionedImages
    indices: tuple[int, ...]  # sample indices, in the order the official Dataset lists them
    group: tuple[Any, ...] = ()  # the official session key: class ids, actions, objects or categories


def task_name(task: str, data: CaptionedImages) -> str:
    """The registered task name of a `name[:split][=PATH]` spec, else the data's name."""
    return task.partition("=")[0].partition(":")[0] or data.name


def plan_sessions(
    data: CaptionedImages, protocol: str, sessions: int = 5, shots: int = 20, seed: int = 0, task: str = ""
) -> list[Session]:
    """The sessions of a run: offline = one session with every sample; continual = the official draw."""
    if protocol == "offline":
        return [Session(1, tuple(sorted(set(data.labels))), tuple(range(len(data))))]
    if protocol != "continual":
        raise InvalidInput(f"unknown protocol {protocol!r}")
    if sessions < 1:
        raise InvalidInput(f"--sessions must be at least 1, got {sessions}")
    name = task_name(task, data)
    rule = _RULES.get(name, _by_classes)
    out = []
    for s, (classes, indices, group) in enumerate(rule(data, sessions, shots, seed, name), 1):
        if not indices:
            raise InvalidInput(
                f"{name or 'data'}: continual session {s} of {sessions} has no images; check the data or --sessions"
            )
        present = {data.labels[i] for i in indices}
        out.append(Session(s, tuple(c for c in classes if c in present), tuple(indices), group))
    return out


def class_groups(data: CaptionedImages, sessions: int, seed: int, task: str = "") -> list[list[int]]:
    """Disjoint class groups (class indices of `data`), one per session, in the released order where there is one."""
    name = task_name(task, data)
    if name == "tsi" and sessions == len(TSI_SESSIONS):
        groups = _tsi_groups(data.keys)
        if groups is not None:
            return groups
    _, order, to_class = _official_labels(data, seed, name)
    return [[to_class[c] for c in g if c in to_class] for g in draw.split_order(order, _checked(sessions, order))]


# -- class-order rules ------------------------------------------------------------------------------------------
def _by_classes(data: CaptionedImages, sessions: int, shots: int, seed: int, name: str) -> Planned:
    labels, order, to_class = _official_labels(data, seed, name)
    sample_order = _sample_order(data, labels, seed, name)
    ordered = [labels[i] for i in sample_order]
    planned = draw.class_sessions(ordered, order, _checked(sessions, order), shots, seed)
    return [
        (tuple(to_class[c] for c in group if c in to_class), [sample_order[p] for p in picked], tuple(group))
        for group, picked in planned
    ]


def _official_labels(data: CaptionedImages, seed: int, name: str) -> tuple[list[int], list[int], dict[int, int]]:
    """(each sample's official class id, the official class order, official id -> class index of `data`)."""
    keys = data.keys
    if name in ("gts", "gtsrb") and all(k in GTSRB_CLASSNAMES for k in keys):
        to_class = {GTSRB_CLASSNAMES.index(k): i for i, k in enumerate(keys)}
        ids = {i: c for c, i in to_class.items()}
        return [ids[c] for c in data.labels], list(GTSRB_ORDER), to_class
    if name in ("aircraft", "eurosat"):
        order = list(AIRCRAFT_ORDER if name == "aircraft" else EUROSAT_ORDER)
        if len(data.class_names) != len(order):
            raise InvalidInput(
                f"{name}: the official session order covers class ids 0..{len(order) - 1}; the data has "
                f"{len(data.class_names)} classes (meta 'class_id' indexes the release's class list)"
            )
        return list(data.labels), order, {c: c for c in order}
    if name == "counteranimal":
        ids = [int(x) for x in _meta(data, "imagenet_id", name)]
        pairs = set(zip(ids, data.labels))
        if len({i for i, _ in pairs}) != len(pairs) or len({c for _, c in pairs}) != len(pairs):
            raise InvalidInput(f"{name}: meta 'imagenet_id' and the class index must name the same classes")
        to_class = dict(pairs)
        vlm = hasattr(data, "prompts")  # a QuestionAnswers: the LLaVA tuning's list
        return ids, list(COUNTERANIMAL_LLAVA_ORDER if vlm else COUNTERANIMAL_CLIP_ORDER), to_class
    n = len(data.class_names)
    order = [int(c) for c in np.random.RandomState(seed).permutation(n)]
    return list(data.labels), order, {c: c for c in range(n)}


def _sample_order(data: CaptionedImages, labels: list[int], seed: int, name: str) -> list[int]:
    if name in ("gts", "gtsrb"):
        return sorted(range(len(data)), key=lambda i: _file_name(data, i))
    if name == "aircraft" and data.meta and all("row" in m for m in data.meta):
        return sorted(range(len(data)), key=lambda i: int(data.meta[i]["row"]))  # the split file's (torchvision's)
    if name == "counteranimal":
        groups = [m.get("group") for m in data.meta or []]
        pool = [i for i, g in enumerate(groups) if g == "counter"] if "counter" in groups else range(len(data))
        folders = sorted(pool, key=lambda i: str(labels[i]))  # stable: the task's order within a class
        return [folders[p] for p in draw.permuted(len(folders), seed)]
    return list(range(len(data)))


def _checked(sessions: int, order: list[int]) -> int:
    if sessions > len(order):
        raise InvalidInput(f"{sessions} sessions need at least {sessions} classes; the data has {len(order)}")
    return sessions


# -- Toyota Smarthome ------------------------------------------------------------------------------------------
def _tsi(data: CaptionedImages, sessions: int, shots: int, seed: int, name: str) -> Planned:
    groups = _tsi_groups(data.keys) if sessions == len(TSI_SESSIONS) else None
    if groups is None:
        return _by_classes(data, sessions, shots, seed, name)
    descriptions = sorted(set(TSI_ACTION_CAPTIONS.values()) | set(data.class_names))
    files = sorted(range(len(data)), key=lambda i: _file_name(data, i))
    rng = random.Random(seed)
    out: Planned = []
    for group, actions in zip(groups, TSI_SESSIONS):
        members = set(group)
        positions = [i for i in files if data.labels[i] in members]
        captions = [data.class_names[data.labels[i]] for i in positions]
        picked = draw.tsi_shots(captions, descriptions, shots, seed, rng)
        out.append((tuple(group), [positions[p] for p in picked], actions))
    return out


def _tsi_groups(keys: list[str]) -> list[list[int]] | None:
    """TSI groups by action keys, or by captions (a caption stays in the first session naming it)."""
    by_action = set(keys) <= set(TSI_ACTION_CAPTIONS)
    pos = {k: i for i, k in enumerate(keys)}
    seen: set[str] = set()
    groups = []
    for actions in TSI_SESSIONS:
        group = []
        for a in actions:
            key = a if by_action else TSI_ACTION_CAPTIONS[a]
            if key in pos and key not in seen:
                seen.add(key)
                group.append(pos[key])
        groups.append(group)
    if len(seen) != len(keys) or not all(groups):
        return None
    return groups


# -- question-answer tasks -------------------------------------------------------------------------------------
def _vsr(data: CaptionedImages, sessions: int, shots: int, seed: int, name: str) -> Planned:
    _fixed(name, sessions, len(VSR_OBJECTS))
    objs = _meta(data, "obj", name)
    out: Planned = []
    for objects in VSR_OBJECTS:
        positions = [i for i, o in enumerate(objs) if o in objects]
        out.append(_qa([positions[p] for p in draw.shuffled_head(len(positions), shots, seed)], data, objects))
    return out


def _hm(data: CaptionedImages, sessions: int, shots: int, seed: int, name: str) -> Planned:
    return [_qa(part, data) for part in draw.hm_sessions(len(data), sessions, shots, seed)]


def _mmvp(data: CaptionedImages, sessions: int, shots: int, seed: int, name: str) -> Planned:
    numbers = []
    for i, m in enumerate(data.meta or [{}] * len(data)):
        value = m.get("index", data.ids[i] if data.ids is not None else None)
        try:
            numbers.append(int(value))
        except (TypeError, ValueError):
            raise InvalidInput(
                f"{name}: item {i} has no question number (meta 'index' or an integer item id, Questions.csv's Index)"
            ) from None
    return [_qa(part, data) for part in draw.mmvp_sessions(numbers, sessions)]


def _visonlyqa(data: CaptionedImages, sessions: int, shots: int, seed: int, name: str) -> Planned:
    _fixed(name, sessions, len(VISONLYQA_CATEGORIES))
    cats = _meta(data, "category", name)
    metas = data.meta or []
    single = [m.get("question_type", "single_answer") == "single_answer" for m in metas]
    rows, sizes = None, None
    if metas and all("row" in m and "category_size" in m for m in metas):
        rows = [int(m["row"]) for m in metas]
        sizes = {}
        for c, r, m in zip(cats, rows, metas):
            if sizes.setdefault(c, int(m["category_size"])) != int(m["category_size"]) or not 0 <= r < sizes[c]:
                raise InvalidInput(f"{name}: meta 'row' / 'category_size' disagree within category {c!r}")
        if len(set(zip(cats, rows))) != len(rows):
            raise InvalidInput(f"{name}: two items share a meta 'row' within one category")
    return [
        _qa(draw.visonlyqa_session(cats, single, wanted, shots, seed, rows, sizes), data, wanted)
        for wanted in VISONLYQA_CATEGORIES
    ]


def _qa(indices: list[int], data: CaptionedImages, group: tuple[Any, ...] = ()) -> tuple:
    return tuple(sorted({data.labels[i] for i in indices})), indices, tuple(group)


def _fixed(name: str, sessions: int, official: int) -> None:
    if sessions != official:
        raise InvalidInput(f"{name}: the official continual protocol has {official} sessions, not {sessions}")


# -- helpers -------------------------------------------------------------------------------------------------------
def _meta(data: CaptionedImages, key: str, name: str) -> list[Any]:
    metas = data.meta or []
    missing = next((i for i in range(len(data)) if i >= len(metas) or key not in metas[i]), None)
    if missing is not None:
        item = data.ids[missing] if data.ids is not None else missing
        raise InvalidInput(f"{name}: continual sessions need meta {key!r} on every item; item {item!r} has none")
    return [m[key] for m in metas]


def _file_name(data: CaptionedImages, i: int) -> str:
    ref = data.samples[i][0]
    if isinstance(ref, (str, Path, os.PathLike)):
        return Path(ref).name
    return data.ids[i] if data.ids is not None else f"{i:012d}"


_RULES: dict[str, Callable[[CaptionedImages, int, int, int, str], Planned]] = {
    "tsi": _tsi,
    "vsr": _vsr,
    "hm": _hm,
    "mmvp": _mmvp,
    "visonlyqa": _visonlyqa,
}

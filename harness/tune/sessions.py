"""Protocols: offline (one session on the whole split) and continual few-shot (disjoint class groups).

Class groups follow the released orders: GTSRB's class-id order split by `np.array_split` (9/9/9/8/8
for 5 sessions) and the five TSI action groups. Other tasks (or other session counts for TSI) use a
seeded permutation of the classes split the same way. Few-shot sampling: one `np.random.RandomState
(seed)` drawing `shots` images per class without replacement, sessions and classes in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.clip.data import CaptionedImages
from harness.errors import InvalidInput
from harness.tasks.captions import GTSRB_CLASSNAMES, TSI_ACTION_CAPTIONS

GTSRB_ORDER = (
    25,
    2,
    11,
    1,
    40,
    27,
    5,
    9,
    17,
    32,
    29,
    20,
    39,
    21,
    15,
    23,
    10,
    3,
    18,
    38,
    42,
    14,
    22,
    35,
    34,
    19,
    33,
    12,
    26,
    41,
    0,
    37,
    6,
    13,
    24,
    30,
    28,
    31,
    7,
    16,
    4,
    36,
    8,
)
TSI_SESSIONS = (
    ("WatchTV", "Laydown", "Sitdown", "Pour.Fromkettle", "Enter", "Drink.Frombottle"),
    ("Eat.Attable", "Pour.Frombottle", "Cook.Cleandishes", "Maketea.Boilwater", "Leave", "Cook.Cleanup"),
    ("Maketea.Insertteabag", "Makecoffee.Pourwater", "Drink.Fromcan", "Readbook", "Cutbread"),
    ("Drink.Fromcup", "Drink.Fromglass", "Usetablet", "Pour.Fromcan", "Usetelephone"),
    ("Walk", "Cook.Stir", "Makecoffee.Pourgrains", "Cook.Cut", "Uselaptop"),
)


@dataclass(frozen=True)
class Session:
    index: int  # 1-based
    classes: tuple[int, ...]  # class indices of the CaptionedImages
    indices: tuple[int, ...]  # sample indices


def class_groups(data: CaptionedImages, sessions: int, seed: int, task: str = "") -> list[list[int]]:
    """Disjoint class groups, one per session, in the released order where there is one."""
    keys = data.keys
    name = task.partition("=")[0] or data.name
    if name in ("gts", "gtsrb") and all(k in GTSRB_CLASSNAMES for k in keys):
        pos = {k: i for i, k in enumerate(keys)}
        order = [pos[GTSRB_CLASSNAMES[c]] for c in GTSRB_ORDER if GTSRB_CLASSNAMES[c] in pos]
        return _split(order, sessions)
    if name == "tsi" and sessions == len(TSI_SESSIONS):
        groups = _tsi_groups(keys)
        if groups is not None:
            return groups
    order = list(np.random.RandomState(seed).permutation(len(keys)))
    return _split([int(c) for c in order], sessions)


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


def _split(order: list[int], sessions: int) -> list[list[int]]:
    if sessions > len(order):
        raise InvalidInput(f"{sessions} sessions need at least {sessions} classes; the data has {len(order)}")
    return [list(map(int, g)) for g in np.array_split(np.asarray(order, dtype=np.int64), sessions)]


def plan_sessions(
    data: CaptionedImages, protocol: str, sessions: int = 5, shots: int = 20, seed: int = 0, task: str = ""
) -> list[Session]:
    """The sessions of a run: offline = one session with every sample."""
    if protocol == "offline":
        return [Session(1, tuple(sorted(set(data.labels))), tuple(range(len(data))))]
    if protocol != "continual":
        raise InvalidInput(f"unknown protocol {protocol!r}")
    by_class: dict[int, list[int]] = {}
    for i, c in enumerate(data.labels):
        by_class.setdefault(c, []).append(i)
    present = [g for g in ([c for c in grp if c in by_class] for grp in class_groups(data, sessions, seed, task))]
    if not all(present):
        raise InvalidInput("a continual session has no images of its classes; check the data or --sessions")
    rng = np.random.RandomState(seed)
    out = []
    for s, group in enumerate(present, 1):
        picked: list[int] = []
        for c in group:
            pool = by_class[c]
            take = min(shots, len(pool))
            picked += sorted(int(pool[j]) for j in rng.choice(len(pool), take, replace=False))
        out.append(Session(s, tuple(group), tuple(picked)))
    return out

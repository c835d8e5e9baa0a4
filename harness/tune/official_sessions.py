"""The released LoRSU code's session draws as pure functions over positions in a sample order.

Each function calls numpy's legacy global-state API or Python's `random` the way the code does, through an
equivalent private generator (`np.random.RandomState(seed)` after `np.random.seed(seed)`, `random.Random(seed)`
after `random.seed(seed)`), so the harness's draws do not disturb the global state. Positions refer to the
sequence passed in; `harness.tune.sessions` maps them to samples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from harness.tune.official_orders import MMVP_PER_SESSION, VISONLYQA_ALL, qa_session_size


def numpy_shots(targets: Sequence[int], shots: int, seed: int) -> list[int]:
    """`_sample_n_samples_per_class`: reseed, classes in `np.unique` order, `np.random.choice(positions, shots,
    replace=False)` per class, every position of a class with at most `shots`. `shots` <= 0: every position."""
    if shots <= 0:
        return list(range(len(targets)))
    rng = np.random.RandomState(seed)
    labels = np.asarray(targets, dtype=np.int64)
    out: list[int] = []
    for c in np.unique(labels):
        where = np.where(labels == c)[0]
        out += (where if len(where) <= shots else rng.choice(where, shots, replace=False)).tolist()
    return [int(p) for p in out]


def split_order(order: Sequence[int], sessions: int) -> list[list[int]]:
    """`np.array_split(order, sessions)` as lists of ints."""
    return [[int(c) for c in g] for g in np.array_split(np.asarray(order, dtype=np.int64), sessions)]


def class_sessions(
    labels: Sequence[int], order: Sequence[int], sessions: int, shots: int, seed: int
) -> list[tuple[list[int], list[int]]]:
    """(class ids, drawn positions) per session: the sample labels filtered to the session's classes (sample order
    kept), then `numpy_shots` with the seed reset, as each session's Dataset does."""
    out = []
    for group in split_order(order, sessions):
        members = set(group)
        positions = [p for p, c in enumerate(labels) if c in members]
        drawn = numpy_shots([labels[p] for p in positions], shots, seed)
        out.append((group, [positions[i] for i in drawn]))
    return out


def permuted(n: int, seed: int) -> list[int]:
    """CounterAnimal's `np.random.seed(seed); np.random.permutation(n)` over every training image."""
    return [int(p) for p in np.random.RandomState(seed).permutation(n)]


def tsi_shots(
    captions: Sequence[str], descriptions: Sequence[str], shots: int, seed: int, rng: random.Random
) -> list[int]:
    """Toyota Smarthome's draw: for the k-th description with images, shuffle its positions with the running
    `random` state, keep the first `shots`, then `random.seed(seed + 2k)`. `rng` carries over to the next session
    (the code builds every session's Dataset in turn). `shots` <= 0: every position in order."""
    if shots <= 0:
        return list(range(len(captions)))
    by_caption: dict[str, list[int]] = {d: [] for d in descriptions}
    for p, cap in enumerate(captions):
        by_caption.setdefault(cap, []).append(p)
    out: list[int] = []
    for k, pool in enumerate(by_caption.values()):
        if pool:
            rng.shuffle(pool)
            out += pool[:shots]
            rng.seed(seed + 2 * k)
    return out


def shuffled_head(n: int, shots: int, seed: int) -> list[int]:
    """VSR's draw: `random.seed(seed); random.shuffle(instances)`, then the first 100/300/600. `shots` <= 0: all."""
    if shots <= 0:
        return list(range(n))
    positions = list(range(n))
    random.Random(seed).shuffle(positions)
    return positions[: qa_session_size(shots)]


def hm_sessions(n: int, sessions: int, shots: int, seed: int) -> list[list[int]]:
    """Hateful Memes (the per-session index lists are unreleased): a seeded `np.random.RandomState(seed)
    .permutation(n)` of train.jsonl's rows split by `np.array_split` into disjoint sessions, each keeping its first
    100/300/600 rows as the code keeps the first rows of a session (`shots` <= 0: all)."""
    parts = split_order(permuted(n, seed), sessions)
    return parts if shots <= 0 else [p[: qa_session_size(shots)] for p in parts]


def visonlyqa_session(
    categories: Sequence[str],
    single: Sequence[bool],
    wanted: Sequence[str],
    shots: int,
    seed: int,
    rows: Sequence[int] | None = None,
    sizes: dict[str, int] | None = None,
) -> list[int]:
    """VisOnlyQA_Train: reseed once, then per category a permutation of its split's rows; the first `shots` (10000
    when `shots` <= 0) rows of each permutation are taken and, of those, the single-answer ones kept. `rows` (each
    sample's row in its category's split) and `sizes` (each split's length, every question type counted) let a
    copy without the multiple-answer rows draw the same rows; without them the samples given are the split."""
    rng = np.random.RandomState(seed)
    take = shots if shots > 0 else VISONLYQA_ALL
    out: list[int] = []
    for cat in wanted:
        positions = [p for p, c in enumerate(categories) if c == cat]
        if rows is None or sizes is None:
            by_row, n = dict(enumerate(positions)), len(positions)
        else:
            by_row, n = {rows[p]: p for p in positions}, sizes.get(cat, 0)
        for i in rng.permutation(n)[: min(take, n)]:
            p = by_row.get(int(i))
            if p is not None and single[p]:
                out.append(p)
    return out


def mmvp_sessions(numbers: Sequence[int], sessions: int) -> list[list[int]]:
    """MMVP: the training questions are rows 0-1 of every 4 of Questions.csv (Index 1-2, 5-6, ...), in row order;
    session s takes the s-th 30 of them. `numbers` are the questions' 1-based Index values; a question's rank among
    the training rows follows from its Index, so a partial copy keeps each question in its session."""
    out: list[list[int]] = [[] for _ in range(sessions)]
    for q, p in sorted((q, p) for p, q in enumerate(numbers)):
        block, row = divmod(q - 1, 4)
        s = (2 * block + row) // MMVP_PER_SESSION
        if row < 2 and s < sessions:
            out[s].append(p)
    return out

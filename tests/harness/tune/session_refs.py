"""Synthetic CaptionedImages and the sessions plan_sessions draws from them, for the official-session tests."""

from __future__ import annotations

import numpy as np

from harness.clip.data import CaptionedImages
from harness.tune.sessions import plan_sessions


def captioned(
    files: list[str], labels: list[int], names: list[str], name: str, keys=None, meta=None
) -> CaptionedImages:
    ids = [f.rsplit("/", 1)[-1].rsplit(".", 1)[0] for f in files]
    return CaptionedImages(list(zip(files, labels)), names, ("{}",), keys, name, ids, meta)


def planned(data: CaptionedImages, **kw) -> list[tuple[tuple, list[str]]]:
    plan = plan_sessions(data, "continual", task=data.name, **kw)
    assert [s.index for s in plan] == list(range(1, len(plan) + 1))
    return [(s.group, [data.samples[i][0] for i in s.indices]) for s in plan]


def ref_per_class(targets: list[int], shots: int, seed: int) -> list[int]:
    """The code's `_sample_n_samples_per_class` on the global numpy state."""
    np.random.seed(seed)
    arr = np.array(targets)
    picked: list[int] = []
    for label in np.unique(arr):
        where = np.where(arr == label)[0]
        picked.extend(where if len(where) <= shots else np.random.choice(where, shots, replace=False))
    return [int(p) for p in picked]


def ref_class_sessions(files: list[str], targets: list[int], order: list[int], shots: int, seed: int):
    """Per session (array_split of `order`): the files of its classes in dataset order, then the per-class draw."""
    out = []
    for classes in np.array_split(order, 5):
        keep = [i for i, t in enumerate(targets) if t in classes]
        session_files, session_targets = [files[i] for i in keep], [targets[i] for i in keep]
        out.append((list(classes), [session_files[i] for i in ref_per_class(session_targets, shots, seed)]))
    return out

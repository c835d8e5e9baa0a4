"""Continual sessions of the sample-based rules (VSR, Hateful Memes, MMVP, VisOnlyQA, any other task) equal an
independent re-implementation of the released LoRSU code's draws (see test_official_sessions.py); the refusals; the
meta CaptionedImages carries for them."""

from __future__ import annotations

import random

import numpy as np
import pytest

from harness.clip.data import CaptionedImages
from harness.errors import InvalidInput
from harness.tune.sessions import plan_sessions
from tests.harness.tune.session_refs import captioned as _data
from tests.harness.tune.session_refs import planned as _got
from tests.harness.tune.session_refs import ref_class_sessions as _ref_class_sessions

# The code's lists, typed from the code (not imported from the harness).
VSR = [
    ["oven", "dining table", "spoon", "boat", "cake", "donut", "sandwich"],
    ["fire hydrant", "elephant", "airplane", "truck", "apple", "hot dog", "sheep"],
    ["kite", "baseball glove", "cow", "tie", "scissors", "toaster", "tv"],
    ["bicycle", "banana", "couch", "teddy bear", "bus", "umbrella", "bird"],
    ["potted plant", "bowl", "broccoli", "bottle", "knife", "orange", "person", "pizza"],
]
VISONLY = ["syntheticgeometry__triangle", "syntheticgeometry__quadrilateral", "syntheticgeometry__length"]
VISONLY += ["syntheticgeometry__angle", "syntheticgeometry__area", "3d__size", "3d__angle"]


def test_vsr_shuffles_each_object_group_and_keeps_100_300_600():
    rng = np.random.RandomState(4)
    objects = [o for group in VSR for o in group] + ["zebra"]  # zebra is in no session
    objs = [objects[int(i)] for i in rng.randint(0, len(objects), 3200)]
    files = [f"images/{i:012d}.jpg" for i in range(len(objs))]
    data = _data(files, [i % 2 for i in range(len(objs))], ["true", "false"], "vsr", meta=[{"obj": o} for o in objs])
    for shots, size in ((3, 100), (20, 300)):
        want = []
        for group in VSR:
            instances = [f for f, o in zip(files, objs) if o in group]
            random.seed(2024)
            random.shuffle(instances)
            want.append((tuple(group), instances[:size]))
        got = _got(data, shots=shots, seed=2024)
        assert got == want
    counts = [sum(o in group for o in objs) for group in VSR]
    assert max(counts) > 600 and min(counts) > 300
    assert [len(f) for _, f in _got(data, shots=50, seed=2024)] == [min(600, n) for n in counts]


def test_hateful_memes_seeded_rule_gives_disjoint_sessions_of_100_or_300():
    files = [f"img/{i:05d}.png" for i in range(800)]
    data = _data(files, [i % 2 for i in range(800)], ["no", "yes"], "hm")
    np.random.seed(9)
    parts = np.array_split(np.random.permutation(800), 5)
    assert _got(data, shots=5, seed=9) == [((), [files[i] for i in p[:100]]) for p in parts]
    got = _got(data, shots=20, seed=9)
    assert got == [((), [files[i] for i in p]) for p in parts]  # 160 < 300: the whole part
    assert len({f for _, fs in got for f in fs}) == 800


def test_mmvp_sessions_are_consecutive_30s_of_the_training_half():
    rng = np.random.RandomState(5)
    numbers = [int(q) for q in rng.permutation(np.arange(1, 301))]
    files = [f"MMVP Images/{q}.jpg" for q in numbers]
    data = _data(files, [0] * 300, ["(a)"], "mmvp")
    rows = np.concatenate([np.arange(i, i + 2) for i in range(0, 300, 4)])  # the code's training rows
    want = [((), [f"MMVP Images/{r + 1}.jpg" for r in rows[30 * s : 30 * s + 30]]) for s in range(5)]
    assert _got(data, shots=20, seed=0) == want
    meta = _data(files, [0] * 300, ["(a)"], "mmvp", meta=[{"index": str(q)} for q in numbers])
    meta.ids = [f"x{i}" for i in range(300)]
    assert _got(meta, shots=3, seed=1) == want


def test_visonlyqa_takes_the_first_shots_of_a_permutation_then_keeps_single_answers():
    rng = np.random.RandomState(6)
    cats = [VISONLY[int(i)] for i in rng.randint(0, 7, 400)]
    types = ["single_answer" if rng.rand() < 0.7 else "multiple_answers" for _ in cats]
    files = [f"q{i}.png" for i in range(400)]
    meta = [{"category": c, "question_type": t} for c, t in zip(cats, types)]
    data = _data(files, [0] * 400, ["A"], "visonlyqa", meta=meta)
    sessions = [[c] for c in VISONLY[:4]] + [VISONLY[4:]]
    want = []
    for wanted in sessions:
        np.random.seed(2024)
        kept = []
        for cat in wanted:
            ds = [i for i, c in enumerate(cats) if c == cat]  # the category's split, in file order
            perm = np.random.permutation(len(ds))
            kept += [
                files[ds[int(perm[i])]] for i in range(min(8, len(ds))) if types[ds[int(perm[i])]] == "single_answer"
            ]
        want.append((tuple(wanted), kept))
    got = _got(data, shots=8, seed=2024)
    assert got == want and any(len(f) < 8 * len(g) for g, f in got)  # some multiple_answers were dropped

    # a copy without the multiple-answer rows, each item carrying its row in the full split, draws the same
    rows = [sum(c == cats[i] for c in cats[:i]) for i in range(400)]
    sizes = {c: cats.count(c) for c in VISONLY}
    keep = [i for i in range(400) if types[i] == "single_answer"]
    meta = [{"category": cats[i], "row": rows[i], "category_size": sizes[cats[i]]} for i in keep]
    single_only = _data([files[i] for i in keep], [0] * len(keep), ["A"], "visonlyqa", meta=meta)
    assert _got(single_only, shots=8, seed=2024) == want
    meta[1] = {**meta[1], "category_size": meta[1]["category_size"] + 1}
    with pytest.raises(InvalidInput, match="disagree within category"):
        plan_sessions(_data([files[i] for i in keep], [0] * len(keep), ["A"], "visonlyqa", meta=meta), "continual")


def test_other_tasks_get_a_seeded_class_split_and_a_reseeded_draw_per_session():
    rng = np.random.RandomState(7)
    labels = [int(c) for c in rng.randint(0, 11, 200)]
    files = [f"x/{i}.png" for i in range(200)]
    data = _data(files, labels, [f"c{i}" for i in range(11)], "toy")
    order = list(np.random.RandomState(5).permutation(11))
    want = _ref_class_sessions(files, labels, order, 4, 5)
    assert _got(data, shots=4, seed=5) == [(tuple(int(c) for c in cl), f) for cl, f in want]


def test_missing_meta_wrong_session_counts_and_class_lists_are_refused():
    files = [f"{i}.jpg" for i in range(10)]
    vsr = _data(files, [0] * 10, ["true"], "vsr", meta=[{"obj": "oven"}] * 9 + [{}])
    with pytest.raises(InvalidInput, match=r"vsr: continual sessions need meta 'obj'.*item '9'"):
        plan_sessions(vsr, "continual", task="vsr")
    with pytest.raises(InvalidInput, match="5 sessions, not 4"):
        plan_sessions(vsr, "continual", sessions=4, task="vsr")
    with pytest.raises(InvalidInput, match="class ids 0..99; the data has 3 classes"):
        plan_sessions(_data(files, [0] * 10, ["a", "b", "c"], "aircraft"), "continual", task="aircraft")
    with pytest.raises(InvalidInput, match="session 2 of 5 has no images"):
        plan_sessions(_data(files, [0] * 10, [f"e{i}" for i in range(10)], "eurosat"), "continual", task="eurosat")
    with pytest.raises(InvalidInput, match="meta 'imagenet_id'"):
        plan_sessions(_data(files, [0] * 10, ["a"], "counteranimal"), "continual", task="counteranimal=/x")


def test_from_task_keeps_each_items_meta_and_subset_carries_it():
    from PIL import Image

    from harness.clip.data import from_task
    from harness.tasks.base import Item

    class Task:
        name = "vsr"
        labels = ("true", "false")

        def items(self):
            return [
                Item(f"i{k}", f"/absent/{k}.jpg", "q", ("true", "false"), k % 2, {"obj": f"o{k}"}) for k in range(4)
            ]

        def load_image(self, item):
            return Image.new("RGB", (4, 4))

    data = from_task(Task())
    assert data.meta == [{"obj": f"o{k}"} for k in range(4)]
    assert data.subset([3, 1]).meta == [{"obj": "o3"}, {"obj": "o1"}]
    assert (
        data.fingerprint()
        == CaptionedImages(data.samples, data.class_names, data.templates, None, "vsr", data.ids).fingerprint()
    )
    with pytest.raises(InvalidInput, match="meta must have one entry per sample"):
        CaptionedImages(data.samples, data.class_names, meta=[{}])

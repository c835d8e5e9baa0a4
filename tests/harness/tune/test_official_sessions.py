"""Continual sessions equal an independent re-implementation of the released LoRSU code's draws.

The `_ref_*` functions below are written from the released code's behaviour (aresPanos/LoRSU, `src/clip_ft/
data_utils.py`, `src/clip_ft/datasets/*.py`, `src/llava/datasets/vqa_datasets.py`, `src/llava/train/train_llm.py`):
its literal class lists, numpy's global `np.random.seed` / `np.random.choice` / `np.random.permutation` and
Python's global `random.seed` / `random.shuffle`, called in the code's order on the code's sample order. The
data are synthetic CaptionedImages whose harness order differs from the official order where the harness sorts.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from harness.clip.data import CaptionedImages
from harness.tasks.captions import GTSRB_CLASSNAMES, TSI_ACTION_CAPTIONS
from harness.tune.official_orders import COUNTERANIMAL_LLAVA_ORDER, deduplicated
from harness.tune.sessions import plan_sessions
from harness.tune.vlm_data import QuestionAnswers
from tests.harness.tune.session_refs import captioned as _data
from tests.harness.tune.session_refs import planned as _got
from tests.harness.tune.session_refs import ref_class_sessions as _ref_class_sessions

# The code's lists, typed from the code (not imported from the harness).
GTSRB = [25, 2, 11, 1, 40, 27, 5, 9, 17, 32, 29, 20, 39, 21, 15, 23, 10, 3, 18, 38, 42, 14]
GTSRB += [22, 35, 34, 19, 33, 12, 26, 41, 0, 37, 6, 13, 24, 30, 28, 31, 7, 16, 4, 36, 8]
AIRCRAFT = [23, 8, 11, 7, 48, 13, 1, 91, 94, 54, 16, 63, 52, 41, 80, 2, 47, 87, 78, 66, 19, 6, 24, 10, 59]
AIRCRAFT += [30, 22, 29, 83, 37, 93, 81, 43, 99, 86, 28, 34, 88, 44, 14, 84, 70, 4, 20, 15, 21, 31, 76, 57, 67]
AIRCRAFT += [73, 50, 69, 25, 98, 46, 96, 0, 72, 35, 58, 92, 3, 95, 56, 90, 26, 40, 55, 89, 75, 71, 60, 42, 9]
AIRCRAFT += [82, 39, 18, 77, 68, 32, 79, 12, 85, 36, 17, 64, 27, 74, 45, 61, 38, 51, 62, 65, 33, 5, 53, 97, 49]
CA_CLIP = [150, 296, 79, 57, 144, 133, 349, 293, 100, 49, 305, 128, 54, 80, 16, 275, 76, 360, 30, 316, 33, 39]
CA_CLIP += [71, 89, 37, 23, 42, 337, 81, 357, 9, 290, 41, 70, 102, 279, 130, 291, 20, 10, 56, 277, 276, 58, 83]
CA_LLAVA = [102, 9, 20, 56, 23, 30, 357, 291, 144, 41, 293, 42, 49, 54, 57, 70, 279, 305, 71, 10, 76, 79, 349]
CA_LLAVA += [16, 81, 83, 100, 130, 30, 133, 150, 275, 276, 58, 277, 80, 39, 290, 37, 296, 316, 337, 89, 360, 128]
TSI = [
    ["WatchTV", "Laydown", "Sitdown", "Pour.Fromkettle", "Enter", "Drink.Frombottle"],
    ["Eat.Attable", "Pour.Frombottle", "Cook.Cleandishes", "Maketea.Boilwater", "Leave", "Cook.Cleanup"],
    ["Maketea.Insertteabag", "Makecoffee.Pourwater", "Drink.Fromcan", "Readbook", "Cutbread"],
    ["Drink.Fromcup", "Drink.Fromglass", "Usetablet", "Pour.Fromcan", "Usetelephone"],
    ["Walk", "Cook.Stir", "Makecoffee.Pourgrains", "Cook.Cut", "Uselaptop"],
]


@pytest.mark.parametrize(("shots", "seed"), [(3, 2024), (5, 7)])
def test_gtsrb_is_torchvisions_sorted_order_split_9_9_9_8_8_and_drawn_per_session(shots, seed):
    rng = np.random.RandomState(0)
    official = [(c, f"{c:05d}/{c:05d}_{k:05d}.ppm") for c in range(43) for k in range(int(rng.randint(2, 9)))]
    harness = [official[i] for i in rng.permutation(len(official))]  # e.g. a Kaggle CSV's order
    keys = list(reversed(GTSRB_CLASSNAMES))  # class index != ClassId
    data = _data([f for _, f in harness], [42 - c for c, _ in harness], keys, "gts")
    want = _ref_class_sessions([f for _, f in official], [c for c, _ in official], GTSRB, shots, seed)
    got = _got(data, shots=shots, seed=seed)
    assert [len(g) for g, _ in got] == [9, 9, 9, 8, 8]
    assert got == [(tuple(c), f) for c, f in want]
    plan = plan_sessions(data, "continual", shots=shots, seed=seed, task="gts")
    assert plan[0].classes == tuple(42 - c for c in GTSRB[:9])


def test_aircraft_and_eurosat_use_the_code_orders_in_the_tasks_sample_order():
    rng = np.random.RandomState(1)
    labels = [int(c) for c in rng.randint(0, 100, 420)]
    files = [f"images/{1000000 + i}.jpg" for i in range(len(labels))]
    got = _got(_data(files, labels, [f"v{i}" for i in range(100)], "aircraft"), shots=3, seed=2024)
    assert [len(g) for g, _ in got] == [20] * 5
    assert got == [(tuple(c), f) for c, f in _ref_class_sessions(files, labels, AIRCRAFT, 3, 2024)]

    labels = [int(c) for c in rng.randint(0, 10, 90)]
    files = [f"2750/c{c}/{i}.jpg" for i, c in enumerate(labels)]
    got = _got(_data(files, labels, [f"e{i}" for i in range(10)], "eurosat"), shots=4, seed=3)
    assert got == [(tuple(c), f) for c, f in _ref_class_sessions(files, labels, list(range(10)), 4, 3)]
    assert [g for g, _ in got] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]


def _counteranimal(vlm: bool) -> tuple[CaptionedImages, list[tuple[str, list[str]]]]:
    """45 classes (class index = rank of the id), each folder's counter images in the task's order."""
    rng = np.random.RandomState(2)
    ids = sorted(CA_CLIP)
    folders = [(f"{i} animal{i}", [f"{i}_{k}.jpg" for k in range(int(rng.randint(1, 7)))]) for i in ids]
    rows, meta = [], []
    for folder, imgs in folders:  # the common images come first in the task and are not trained on
        for group in ("common", "counter"):
            rows += [(f"{folder}/{group}-x/{img}", ids.index(int(folder.split()[0]))) for img in imgs]
            meta += [{"imagenet_id": int(folder.split()[0]), "group": group}] * len(imgs)
    base = CaptionedImages(rows, [f"animal{i}" for i in ids], ("{}",), None, "counteranimal", None, meta)
    if vlm:
        base = QuestionAnswers(**base.__dict__, prompts=[("q", "a")] * len(rows))
    return base, folders


@pytest.mark.parametrize("vlm", [False, True])
def test_counteranimal_permutes_all_images_then_draws_per_session(vlm):
    data, folders = _counteranimal(vlm)
    files, targets = [], []
    for folder, imgs in sorted(folders):  # os.listdir taken as sorted folder names ("102 ..." < "16 ...")
        files += [f"{folder}/counter-x/{img}" for img in imgs]
        targets += [int(folder.split()[0])] * len(imgs)
    np.random.seed(2024)
    perm = np.random.permutation(len(files))
    files, targets = [files[i] for i in perm], [targets[i] for i in perm]
    order = [33 if (c == 30 and k == 28) else c for k, c in enumerate(CA_LLAVA)] if vlm else CA_CLIP
    want = _ref_class_sessions(files, targets, order, 2, 2024)
    got = _got(data, shots=2, seed=2024)
    assert got == [(tuple(c), f) for c, f in want]
    flat = [c for g, _ in got for c in g]
    assert sorted(flat) == sorted(CA_CLIP) and [len(g) for g, _ in got] == [9] * 5


def test_the_llava_counteranimal_list_loses_its_second_30_to_33_only():
    assert CA_LLAVA.count(30) == 2 and 33 not in CA_LLAVA and set(CA_LLAVA) < set(CA_CLIP)
    assert list(COUNTERANIMAL_LLAVA_ORDER) == CA_LLAVA[:28] + [33] + CA_LLAVA[29:]
    assert deduplicated((5, 1, 5, 2, 1), (1, 2, 3, 4, 5)) == (5, 1, 3, 2, 4)


def _tsi_data() -> tuple[CaptionedImages, list[str]]:
    rng = np.random.RandomState(3)
    actions = sorted(TSI_ACTION_CAPTIONS)
    files = [
        f"images_trunc/{a}_p{p:02d}_r00_v{k:02d}_c01_sec{k}.jpg"
        for a in actions
        for p in (3, 4, 6)
        for k in range(int(rng.randint(0, 5)))
    ]
    files = [files[i] for i in rng.permutation(len(files))]
    action_of = [f.split("/")[-1].split("_")[0] for f in files]
    names = [TSI_ACTION_CAPTIONS[a] for a in actions]
    return _data(files, [actions.index(a) for a in action_of], names, "tsi", keys=actions), files


def _ref_tsi(files: list[str], shots: int, seed: int) -> list[list[str]]:
    descriptions = sorted(set(TSI_ACTION_CAPTIONS.values()))  # the code's set, taken sorted
    random.seed(seed)
    out = []
    for actions in TSI:
        instances = [f for f in sorted(files) if f.split("/")[-1].split("_")[0] in actions]
        per = {d: [] for d in descriptions}
        for f in instances:
            per[TSI_ACTION_CAPTIONS[f.split("/")[-1].split("_")[0]]].append(f)
        drawn = []
        for k, d in enumerate(per):
            if min(len(per[d]), shots) > 0:
                random.shuffle(per[d])
                drawn += per[d][: min(len(per[d]), shots)]
                random.seed(seed + 2 * k)
        out.append(drawn)
    return out


@pytest.mark.parametrize(("shots", "seed"), [(2, 2024), (3, 11)])
def test_tsi_follows_the_codes_shuffle_and_reseed_chain_across_sessions(shots, seed):
    data, files = _tsi_data()
    got = _got(data, shots=shots, seed=seed)
    assert [list(g) for g, _ in got] == TSI
    assert [f for _, f in got] == _ref_tsi(files, shots, seed)

"""Toyota Smarthome frames: both layouts, cross-subject filtering, the 27 → 22 caption map, dropped counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.tasks.captions import ACTION_CAPTIONS, TSI_ACTION_CAPTIONS, TSI_DROPPED_ACTIONS
from harness.tasks.frames import extract_middle_frames
from harness.tasks.sources import DatasetNotFound
from harness.tasks.tsi import TEST_SUBJECTS, ToyotaSmarthomeImages, build
from tests.harness.tasks.fixtures import build_tsi_frames, build_tsi_release, tsi_split_lines

TEST_STEMS = [Path(x).stem for x in tsi_split_lines("test_CS")]
KEPT = [s for s in TEST_STEMS if s.split("_")[0] in TSI_ACTION_CAPTIONS]


def test_caption_map_is_27_actions_onto_the_22_captions():
    assert len(TSI_ACTION_CAPTIONS) == 27 and set(TSI_ACTION_CAPTIONS.values()) == set(ACTION_CAPTIONS)
    assert {TSI_ACTION_CAPTIONS[a] for a in ("Enter", "Leave", "Walk")} == {"walking"}
    assert TSI_ACTION_CAPTIONS["Maketea.Boilwater"] == "boiling water in a black kettle"
    assert not set(TSI_DROPPED_ACTIONS) & set(TSI_ACTION_CAPTIONS)


@pytest.mark.parametrize("folder", ["images_trunc", "frames", ""])
def test_frames_layout_keeps_test_subjects_and_counts_dropped(tmp_path, folder):
    task = ToyotaSmarthomeImages(build_tsi_frames(tmp_path, folder))
    items = list(task.items())
    assert sorted(it.id for it in items) == sorted(KEPT)
    assert all(it.meta["subject"] in TEST_SUBJECTS for it in items)
    for it in items:
        assert it.choices[it.answer] == TSI_ACTION_CAPTIONS[it.meta["action"]] == it.meta["label"]
    d = task.describe()
    assert d["dropped"] == {
        "Cook.Usestove": 1,
        "Eat.Snack": 1,
        "Getup": 1,
        "Takepills": 1,
        "Pour.Fromcup (not a class)": 1,
        "not a Toyota Smarthome name": 1,
    }
    assert d["items"] == len(KEPT) and d["classes"] == 22 and "extracted frames" in d["layout"]


def test_train_split_is_the_cs_train_and_validation_subjects(tmp_path):
    task = ToyotaSmarthomeImages(build_tsi_frames(tmp_path), split="train")
    subjects = {it.meta["subject"] for it in task.items()}
    assert subjects and not subjects & set(TEST_SUBJECTS)
    assert task.describe()["dropped"].get("Takepills") == 1  # from the validation list


def test_release_layout_uses_the_split_list_and_extracted_frames(tmp_path):
    root = build_tsi_release(tmp_path, n_videos=4)
    with pytest.raises(DatasetNotFound, match="harness data tsi-frames --videos .*mp4 --out .*frames"):
        ToyotaSmarthomeImages(root)
    stats = extract_middle_frames(root / "mp4", root / "frames", progress=False)
    assert stats.written == stats.videos == 12 and not stats.failed
    task = ToyotaSmarthomeImages(root)
    items = {it.id: it for it in task.items()}
    assert sorted(items) == sorted(KEPT)
    assert "trimmed release" in task.describe()["layout"]
    # only the first 4 videos per list exist, so only their frames were extracted
    extracted = [it for it in items.values() if Path(it.image).exists()]
    assert task.describe()["images_missing"] == len(items) - len(extracted)
    assert task.load_image(extracted[0]).size == (32, 32)


def test_release_without_split_lists_is_an_error(tmp_path):
    root = build_tsi_release(tmp_path, n_videos=1)
    (root / "splits" / "test_CS.txt").unlink()
    with pytest.raises(DatasetNotFound, match="no split list test_CS.txt"):
        ToyotaSmarthomeImages(root)


def test_override_of_the_caption_map(tmp_path):
    captions = {**TSI_ACTION_CAPTIONS, "Maketea.Boilwater": "making tea"}
    task = ToyotaSmarthomeImages(build_tsi_frames(tmp_path), action_captions=captions)
    assert task.describe()["classes"] == 21
    boil = [it for it in task.items() if it.meta["action"] == "Maketea.Boilwater"]
    assert boil and all(it.meta["label"] == "making tea" for it in boil)


def test_determinism_and_balance(tmp_path):
    root = build_tsi_frames(tmp_path)
    a, b = list(ToyotaSmarthomeImages(root).items()), list(ToyotaSmarthomeImages(root).items())
    assert a == b
    # the first items are not all one class (hash order), and slots spread over A–E
    assert len({it.meta["label"] for it in a[:10]}) > 3
    slots = Counter(it.answer for it in a)
    assert max(slots.values()) - min(slots.values()) <= 1


def test_missing_root_and_empty_folder(tmp_path):
    with pytest.raises(DatasetNotFound, match="no data location.*Expected layout: the trimmed release"):
        build()
    (tmp_path / "toyota_smarthome").mkdir()
    with pytest.raises(DatasetNotFound, match="no Toyota Smarthome frames under"):
        build(data_root=tmp_path)

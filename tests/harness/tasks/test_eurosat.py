"""EuroSAT RGB: the release tree in every root form, CLIP's class names, CoOp's split file and the seeded split."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from harness.errors import InvalidInput
from harness.tasks.captions import EUROSAT_CLASSES
from harness.tasks.choices import export_choices
from harness.tasks.eurosat import QUESTION, EuroSat, build, split_sizes
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.fixtures_eurosat import (
    COUNTS,
    build_eurosat,
    build_eurosat_torchvision,
    coop_assignment,
    write_coop_split,
    write_jpeg,
)

# CLIP_benchmark's en_classnames.json "eurosat" (LAION-AI/CLIP_benchmark@374d11f), which LoRSU's EuroSAT.class_names
# repeats; index = class id
CLIP_NAMES = [
    "annual crop land",
    "forest",
    "brushland or shrubland",
    "highway or road",
    "industrial buildings or commercial buildings",
    "pasture land",
    "permanent crop land",
    "residential buildings or homes or apartments",
    "river",
    "lake or sea",
]
# (train, val, test) per class of COUNTS by CoOp's counts, worked by hand: round(n/2), round(n/5) (half to even)
HAND_SPLIT = {
    "AnnualCrop": (2, 1, 2),  # 5: round(2.5) = 2, round(1.0) = 1
    "Forest": (4, 1, 2),  # 7: round(3.5) = 4, round(1.4) = 1
    "HerbaceousVegetation": (2, 1, 0),  # 3: round(1.5) = 2, round(0.6) = 1
    "Highway": (2, 1, 1),
    "Industrial": (3, 1, 2),
    "Pasture": (1, 0, 1),  # 2: round(0.4) = 0
    "PermanentCrop": (2, 1, 2),
    "Residential": (4, 2, 2),  # 8: round(1.6) = 2
    "River": (2, 1, 1),
    "SeaLake": (3, 1, 2),
}
SPLIT_INDEX = {"train": 0, "val": 1, "test": 2}


def _per_class(task: EuroSat) -> dict[str, int]:
    folders = list(EUROSAT_CLASSES)
    out = dict.fromkeys(folders, 0)
    for it in task.items():
        out[folders[it.meta["class_id"]]] += 1
    return out


def _files(task: EuroSat) -> set[str]:
    return {Path(it.image).relative_to(task.images).as_posix() for it in task.items()}


def test_class_names_and_ids_are_clips_in_sorted_folder_order():
    assert list(EUROSAT_CLASSES.values()) == CLIP_NAMES
    assert list(EUROSAT_CLASSES) == sorted(EUROSAT_CLASSES) and len(EUROSAT_CLASSES) == 10


def test_class_ids_are_torchvisions(tmp_path):
    """torchvision's EuroSAT (an ImageFolder over eurosat/2750) gives every file the class id we give it."""
    from torchvision.datasets import EuroSAT

    root = build_eurosat_torchvision(tmp_path)
    theirs = {Path(p).as_posix(): t for p, t in EuroSAT(str(root)).samples}
    ours = {}
    for split in ("train", "val", "test"):
        ours.update({Path(it.image).as_posix(): it.meta["class_id"] for it in EuroSat(root, split=split).items()})
    assert ours == theirs and len(ours) == sum(COUNTS.values())


def test_split_sizes_on_the_release_counts():
    # the release's class sizes: 3000 (AnnualCrop, Forest, HerbaceousVegetation, Residential, SeaLake),
    # 2500 (Highway, Industrial, PermanentCrop, River), 2000 (Pasture)
    assert split_sizes(3000) == (1500, 600, 900)
    assert split_sizes(2500) == (1250, 500, 750)
    assert split_sizes(2000) == (1000, 400, 600)
    release = [3000] * 5 + [2500] * 4 + [2000]
    totals = [sum(split_sizes(n)[k] for n in release) for k in range(3)]
    assert totals == [13500, 5400, 8100]  # the sizes of CoOp's split_zhou_EuroSAT.json


def test_seeded_split_counts_per_class(tmp_path):
    root = build_eurosat(tmp_path)
    for split, k in SPLIT_INDEX.items():
        task = EuroSat(root, split=split)
        assert _per_class(task) == {f: HAND_SPLIT[f][k] for f in COUNTS}
        assert task.describe()["items"] == (25, 10, 15)[k]
        assert task.describe()["split_source"].startswith("seeded 50/20/30")
        assert task.describe()["class_folders_missing"] == []


def test_seeded_split_is_disjoint_complete_and_deterministic(tmp_path):
    root = build_eurosat(tmp_path / "a")
    parts = {s: _files(EuroSat(root, split=s)) for s in SPLIT_INDEX}
    assert not (parts["train"] & parts["val"] or parts["train"] & parts["test"] or parts["val"] & parts["test"])
    every = {f"{f}/{f}_{n}.jpg" for f, c in COUNTS.items() for n in range(1, c + 1)}
    assert parts["train"] | parts["val"] | parts["test"] == every
    # another --seed, another copy written in reverse order: the same split
    again = tmp_path / "b" / "2750"
    for f in sorted(every, reverse=True):
        again.joinpath(f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "2750" / f, again / f)
    for s in SPLIT_INDEX:
        assert _files(EuroSat(again, split=s, seed=7)) == parts[s]
    # the split differs from a plain first-half cut (the files are shuffled)
    assert parts["train"] != {f"{f}/{f}_{n}.jpg" for f, (k, _, _) in HAND_SPLIT.items() for n in range(1, k + 1)}


def test_seeded_split_is_pinned(tmp_path):
    """The split is part of what a score means: changing it needs a new SPLIT_SEED (and this list)."""
    root = build_eurosat(tmp_path)
    pinned = {
        "train": ["Forest_1", "Forest_4", "Forest_5", "Forest_7", "Residential_1", "Residential_3", "Residential_5"]
        + ["Residential_6"],
        "val": ["Forest_2", "Residential_4", "Residential_7"],
        "test": ["Forest_3", "Forest_6", "Residential_2", "Residential_8"],
    }
    for split, ids in pinned.items():
        assert sorted(it.id for it in EuroSat(root, split=split).items() if it.meta["class_id"] in (1, 7)) == ids


def test_seeded_split_sha256_is_the_documented_json(tmp_path):
    root = build_eurosat(tmp_path)
    rows = {}
    for s in SPLIT_INDEX:
        task = EuroSat(root, split=s)
        rows[s] = sorted(
            [Path(it.image).relative_to(task.images).as_posix(), it.meta["class_id"]] for it in task.items()
        )
    want = hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()
    assert task.describe()["split_sha256"] == want
    write_jpeg(root / "2750" / "River" / "River_99.jpg", 5)
    assert EuroSat(root).describe()["split_sha256"] != want
    shutil.rmtree(root / "2750" / "Pasture")  # a partly unpacked release: listed, the other classes' split kept
    info = EuroSat(root, split="train").describe()
    assert info["class_folders_missing"] == ["Pasture"] and info["items"] == 25 - HAND_SPLIT["Pasture"][0]


def test_every_root_form_gives_the_same_items(tmp_path):
    build_eurosat(tmp_path / "data" / "eurosat")
    zip_parent = tmp_path / "data" / "eurosat"
    forms = [
        EuroSat(zip_parent),
        EuroSat(zip_parent / "2750"),
        EuroSat(build_eurosat_torchvision(tmp_path / "tv")),
        build(data_root=tmp_path / "data"),
        build_task("eurosat", data_root=tmp_path / "data"),
    ]
    first = [(it.id, it.choices, it.answer) for it in forms[0].items()]
    assert len(first) == 15
    for task in forms[1:]:
        assert [(it.id, it.choices, it.answer) for it in task.items()] == first
    assert "2750/" in forms[0].describe()["layout"] and "eurosat/2750/" in forms[2].describe()["layout"]


def test_items_are_five_option_questions_over_the_clip_names(tmp_path):
    task = EuroSat(build_eurosat(tmp_path), split="train")
    items = list(task.items())
    for it in items:
        folder = it.id.rsplit("_", 1)[0]
        assert it.meta["class_id"] == list(EUROSAT_CLASSES).index(folder)
        assert it.choices[it.answer] == EUROSAT_CLASSES[folder] == it.meta["label"]
        assert len(it.choices) == len(set(it.choices)) == 5 and set(it.choices) <= set(CLIP_NAMES)
        assert it.question == QUESTION == "What does this centered satellite photo show?"
        assert it.image.endswith(f"2750/{folder}/{it.id}.jpg")
    # balanced answer positions: 25 items over 5 slots, 5 each
    assert sorted(it.answer for it in items) == [k for k in range(5) for _ in range(5)]
    assert task.load_image(items[0]).size == (64, 64)
    assert [(it.choices, it.answer) for it in items] != [
        (it.choices, it.answer) for it in EuroSat(task.root, split="train", seed=1).items()
    ]


def test_llava_prompt_is_lorsus_eurosat_vqa_text(tmp_path):
    """LoRSU's EuroSATVQA: the question, "\n<letter>. <option>" per choice, then the LLaVA-1.5 instruction."""
    it = next(EuroSat(build_eurosat(tmp_path)).items())
    lorsu = QUESTION + "".join(f"\n{'ABCDE'[k]}. {c}" for k, c in enumerate(it.choices))
    lorsu += "\nAnswer with the option's letter from the given choices directly."
    task = EuroSat(tmp_path)
    assert task.prompt(it, "llava", "options").instruction == lorsu == task.generate_prompt(it, "llava")
    assert task.prompt(it, "llava", "options").continuations == tuple("ABCDE")


def test_choices_file_repeats_published_choice_sets(tmp_path):
    root = build_eurosat(tmp_path)
    published = list(EuroSat(root, seed=3).items())
    export_choices(published, tmp_path / "choices.jsonl", task="eurosat")
    again = EuroSat(root, seed=0).use_choices(tmp_path / "choices.jsonl")
    assert [(it.id, it.choices, it.answer) for it in again.items()] == [
        (it.id, it.choices, it.answer) for it in published
    ]
    assert again.describe()["choices_file"] == str(tmp_path / "choices.jsonl")


def test_coop_split_file_is_read(tmp_path):
    root = build_eurosat(tmp_path)
    path = write_coop_split(root)
    for split in SPLIT_INDEX:
        task = EuroSat(root, split=split)
        want = {
            f"{f}/{f}_{n}.jpg" for f, c in COUNTS.items() for n in range(1, c + 1) if coop_assignment(f, n) == split
        }
        assert _files(task) == want
        info = task.describe()
        assert info["split_source"] == "CoOp split_zhou_EuroSAT.json" and "CoOp" in info["layout"]
        assert info["split_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # the file's test split holds n = 1, 4, 7 of each class: AnnualCrop 1, 4; Forest 1, 4, 7; ...
    assert sum(1 for it in EuroSat(root).items() if it.meta["class_id"] == 1) == 3
    assert len(list(EuroSat(root / "2750").items())) == 20  # found beside 2750/ when the root is 2750/


def test_stray_files_and_hidden_entries_are_ignored(tmp_path):
    root = build_eurosat(tmp_path)
    (root / "2750" / "AnnualCrop" / "notes.txt").write_text("x")
    (root / "2750" / "AnnualCrop" / ".AnnualCrop_9.jpg").write_bytes(b"partial")
    (root / "2750" / "README.md").write_text("x")
    (root / "2750" / ".ipynb_checkpoints").mkdir()
    for split, k in SPLIT_INDEX.items():
        assert _per_class(EuroSat(root, split=split)) == {f: HAND_SPLIT[f][k] for f in COUNTS}


def test_an_unknown_class_folder_is_an_error_naming_it_and_the_ten(tmp_path):
    root = build_eurosat(tmp_path)
    write_jpeg(root / "2750" / "Farmland" / "Farmland_1.jpg", 1)
    with pytest.raises(
        DatasetFormatError, match=r"2750/Farmland is not a EuroSAT RGB class folder.*AnnualCrop, Forest"
    ):
        EuroSat(root)


@pytest.mark.parametrize(
    "edit, error, match",
    [
        (lambda d: d["test"].append(["Farmland/Farmland_1.jpg", 3, "Farm"]), DatasetFormatError, r"test\[\d+\]: 'Farm"),
        (lambda d: d["val"].__setitem__(0, ["AnnualCrop/AnnualCrop_2.jpg", 4, "x"]), DatasetFormatError, "label 4"),
        (
            lambda d: d["train"].__setitem__(0, ["AnnualCrop/AnnualCrop_3.jpg", "two", "x"]),
            DatasetFormatError,
            "'label'",
        ),
        (
            lambda d: d["train"].__setitem__(0, "AnnualCrop/AnnualCrop_3.jpg"),
            DatasetFormatError,
            r"train\[0\]: expected",
        ),
        (lambda d: d.pop("val"), DatasetFormatError, "'val' must be a list"),
        (lambda d: d["train"].append(list(d["test"][0])), DatasetFormatError, "in both 'train' and 'test'"),
        (lambda d: d["test"].append(["River/River_77.jpg", 8, "River"]), DatasetNotFound, r"River/River_77.jpg"),
    ],
)
def test_a_bad_split_file_is_a_named_error(tmp_path, edit, error, match):
    root = build_eurosat(tmp_path)
    data = json.loads(write_coop_split(root).read_text())
    edit(data)
    write_coop_split(root, data)
    with pytest.raises(error, match=match) as e:
        EuroSat(root).load()
    assert "split_zhou_EuroSAT.json" in str(e.value)


def test_missing_root_broken_json_and_unknown_split(tmp_path):
    with pytest.raises(DatasetNotFound, match="eurosat.*does not exist.*2750/<Class>"):
        build(path=tmp_path / "nowhere")
    with pytest.raises(DatasetNotFound, match="--data-root"):
        build()
    (tmp_path / "empty" / "2750").mkdir(parents=True)
    with pytest.raises(DatasetNotFound, match="no EuroSAT RGB class folders under"):
        build(path=tmp_path / "empty")
    root = build_eurosat(tmp_path / "r")
    (root / "split_zhou_EuroSAT.json").write_text('{"train": [')
    with pytest.raises(DatasetFormatError, match="split_zhou_EuroSAT.json: not valid JSON"):
        EuroSat(root).load()
    with pytest.raises(InvalidInput, match="unknown split 'dev'"):
        build_task(f"eurosat:dev={root}")

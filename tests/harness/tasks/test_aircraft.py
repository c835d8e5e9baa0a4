"""FGVC-Aircraft 2013b: the release layout, the four splits, the banner crop, the official metric, bad input."""

from __future__ import annotations

import shutil

import pytest
from sklearn.metrics import balanced_accuracy_score

from harness.tasks.aircraft import FgvcAircraft, build
from harness.tasks.base import ImageError, open_rgb
from harness.tasks.choices import export_choices
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.fixtures_aircraft import (
    BANNER_RGB,
    SPLITS,
    TEST,
    TOP,
    VARIANTS,
    WIDTH,
    build_aircraft,
    top_rgb,
    write_aircraft_image,
)


@pytest.fixture
def data(tmp_path):
    return build_aircraft(tmp_path / "root")


def test_test_split_items_ids_and_class_names(data):
    task = build(path=data.parent)
    items = list(task.items())
    assert task.labels == VARIANTS and task.describe()["classes"] == 100
    assert {it.id: it.meta["variant"] for it in items} == dict(TEST)  # ids keep their leading zeros
    for it in items:
        assert it.question == "What is the type of this aircraft?"
        assert len(it.choices) == 5 and len(set(it.choices)) == 5 and set(it.choices) <= set(VARIANTS)
        assert it.choices[it.answer] == it.meta["variant"] == it.meta["label"]
        assert it.meta["class_id"] == VARIANTS.index(it.meta["variant"])
        assert it.image == str(data / "images" / f"{it.id}.jpg")
    # names holding spaces and slashes are read whole (the line is split at its first space only)
    assert {VARIANTS[it.meta["class_id"]] for it in items} >= {"Cessna 172", "F/A-18", "F-16A/B", "BAE 146-200"}
    info = task.describe()
    assert info["split"] == "test" and info["items"] == 12 and info["images_missing"] == 0
    assert info["metrics"][:2] == ["acc", "acc_norm"] and info["metrics"][-1] == "mean_class_acc"


@pytest.mark.parametrize("split", ["train", "val", "trainval"])
def test_other_splits(data, split):
    items = list(build_task(f"aircraft:{split}", data={"aircraft": data}).items())
    assert {it.id: it.meta["variant"] for it in items} == dict(SPLITS[split])
    # meta "row" is the line's place in the split file (torchvision's order); the items are in sha256 order
    assert [it.id for it in sorted(items, key=lambda it: it.meta["row"])] == [i for i, _ in SPLITS[split]]
    assert all(it.choices[it.answer] == it.meta["variant"] for it in items)


def test_roots_the_release_its_data_folder_a_parent_and_data_root(data, tmp_path):
    want = [(it.id, it.choices, it.answer) for it in build(path=data).items()]
    for kwargs in ({"path": data.parent}, {"path": data.parent.parent}, {"data_root": data.parent.parent}):
        assert [(it.id, it.choices, it.answer) for it in build(**kwargs).items()] == want, kwargs
    lorsu = tmp_path / "lorsu" / "fgvc_aircraft"  # LoRSU's <dataroot>/fgvc_aircraft/fgvc-aircraft-2013b/
    lorsu.mkdir(parents=True)
    shutil.move(data.parent, lorsu / "fgvc-aircraft-2013b")
    assert [(it.id, it.choices, it.answer) for it in build(data_root=tmp_path / "lorsu").items()] == want


def test_the_copyright_banner_is_cropped(data):
    task = build(path=data)
    item = next(it for it in task.items())
    raw = open_rgb(data / "images" / f"{item.id}.jpg")
    assert raw.size == (WIDTH, TOP + 20)
    assert _near(raw.getpixel((5, TOP + 10)), BANNER_RGB)  # the fixture's banner is there before the crop
    image = task.load_image(item)
    assert image.size == (WIDTH, TOP) and image.mode == "RGB"
    colours = {c for _, c in image.getcolors(WIDTH * TOP)}
    assert all(_near(c, top_rgb(item.id)) for c in colours) and not any(_near(c, BANNER_RGB, 60) for c in colours)


def test_an_image_no_taller_than_the_banner_is_an_image_error(data):
    task = build(path=data)
    item = next(it for it in task.items())
    write_aircraft_image(data / "images" / f"{item.id}.jpg", item.id, height=20)
    with pytest.raises(ImageError, match=rf"{item.id}.jpg is 20 pixels tall"):
        task.load_image(item)


def _near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 12) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) <= tol


# the test split's items by class, and which of them the model gets right (1 of 2, 3 of 3, 0 of 1, ...)
RIGHT = {"0061240": True, "0112793": False, "1514522": True, "1514527": True, "1514530": True, "0497380": False}
RIGHT |= {"2229130": True, "2229131": True, "1952342": True, "0776903": False, "0776904": False, "1180640": False}


def _samples(task: FgvcAircraft) -> list[dict]:
    return [
        {
            "id": it.id,
            "answer": it.answer,
            "pred": it.answer if RIGHT[it.id] else (it.answer + 1) % 5,
            "pred_norm": it.answer,
            "choices": list(it.choices),
            "meta": it.meta,
            "error": None,
        }
        for it in task.items()
    ]


# sklearn warns that predicted distractor classes never occur as a truth; they take no part in the mean
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_metrics_by_hand_and_sklearn(data):
    task = build(path=data)
    samples = _samples(task)
    m = task.metrics(samples)
    assert m["acc"].value == pytest.approx(7 / 12)
    assert m["acc_norm"].value == 1.0
    # per class: 707-320 1/2, Cessna 172 3/3, F/A-18 0/1, BAE 146-200 2/2, Legacy 600 1/1, A380 0/2, F-16A/B 0/1
    assert m["mean_class_acc"].value == pytest.approx((0.5 + 1 + 0 + 1 + 1 + 0 + 0) / 7)
    truth = [s["meta"]["variant"] for s in samples]
    picked = [s["choices"][s["pred"]] for s in samples]
    assert m["mean_class_acc"].value == pytest.approx(balanced_accuracy_score(truth, picked))
    assert m["mean_class_acc"].stderr is None  # three classes have a single image
    # an item error is left out of every metric: 707-320 keeps only its wrong image
    k = next(i for i, s in enumerate(samples) if s["id"] == "0061240")
    samples[k] = {**samples[k], "error": "image not found"}
    assert task.metrics(samples)["mean_class_acc"].value == pytest.approx((0 + 1 + 0 + 1 + 1 + 0 + 0) / 7)


def test_choice_sets_are_deterministic_and_seeded(data):
    sets = lambda task: {it.id: (it.choices, it.answer) for it in task.items()}  # noqa: E731
    first = sets(build(path=data))
    split = data / "images_variant_test.txt"
    split.write_text("".join(reversed(split.read_text().splitlines(keepends=True))))
    again = build(path=data)
    assert sets(again) == first and [it.id for it in again.items()] == [it.id for it in build(path=data).items()]
    assert sets(build(path=data, seed=1)) != first


def test_use_choices_repeats_an_exported_set(data, tmp_path):
    published = list(build(path=data, seed=1).items())
    export_choices(published, tmp_path / "choices.jsonl", task="aircraft")
    task = FgvcAircraft(data, seed=2).use_choices(tmp_path / "choices.jsonl")
    assert [(it.id, it.choices, it.answer) for it in task.items()] == [
        (it.id, it.choices, it.answer) for it in published
    ]


def test_bad_split_files(data):
    split = data / "images_variant_test.txt"
    lines = split.read_text().splitlines()
    split.write_text("\n".join(lines[:2] + ["0061299 Boeing 787"] + lines[2:]) + "\n")
    with pytest.raises(
        DatasetFormatError, match=r"images_variant_test.txt:3: variant 'Boeing 787' is not in .*variants"
    ):
        build(path=data)
    split.write_text("\n".join(lines[:4] + ["0061299"] + lines[4:]) + "\n")
    with pytest.raises(DatasetFormatError, match=r"images_variant_test.txt:5: expected '<image id> <variant>'"):
        build(path=data)
    split.write_text("\n".join(lines + [lines[1]]) + "\n")
    with pytest.raises(DatasetFormatError, match=r"test.txt:13: image 0112793 is already listed on line 2"):
        build(path=data)
    split.write_text("\n")
    with pytest.raises(DatasetFormatError, match="no items in split 'test'"):
        build(path=data)
    split.unlink()
    with pytest.raises(DatasetNotFound, match=r"images_variant_test.txt not found.*Expected layout"):
        build(path=data)


def test_bad_variants_file(data):
    variants = data / "variants.txt"
    variants.write_text("".join(f"{v}\n" for v in VARIANTS[:10]) + "\n" + "".join(f"{v}\n" for v in VARIANTS[10:]))
    with pytest.raises(DatasetFormatError, match=r"variants.txt:11: blank line"):
        build(path=data)
    variants.write_text("707-320\n727-200\n707-320\n")
    with pytest.raises(DatasetFormatError, match=r"variants.txt:3: variant '707-320' is already on line 1"):
        build(path=data)
    variants.write_text("707-320\n727-200\n")
    with pytest.raises(DatasetFormatError, match="2 variant names; five-option questions need at least 5"):
        build(path=data)
    variants.unlink()
    with pytest.raises(DatasetNotFound, match=r"aircraft: .*variants.txt not found.*Expected layout"):
        build(path=data)


def test_missing_root_unknown_split_and_no_data(tmp_path, data):
    with pytest.raises(DatasetNotFound, match=r"does not exist\. Expected layout: fgvc-aircraft-2013b/data/"):
        build(path=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match=r"no FGVC-Aircraft data under .*empty"):
        build(path=tmp_path / "empty")
    with pytest.raises(DatasetNotFound, match="--data-root"):
        build()
    with pytest.raises(
        ValueError, match=r"unknown split 'dev'; expected one of \('test', 'train', 'val', 'trainval'\)"
    ):
        build(path=data, split="dev")

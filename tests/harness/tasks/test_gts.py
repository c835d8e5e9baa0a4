"""GTSRB in the official INI, torchvision and Kaggle layouts."""

from __future__ import annotations

import json

import pytest

from harness.tasks.base import ImageError
from harness.tasks.captions import GTSRB_CLASSNAMES
from harness.tasks.gts import Gtsrb, build
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.fixtures import (
    DATA,
    build_gtsrb_ini,
    build_gtsrb_kaggle,
    build_gtsrb_torchvision,
    write_corrupt,
)

# (Filename, ClassId) of the first real GT-final_test.csv rows
REAL_TEST = [
    (ln.split(";")[0], int(ln.split(";")[-1]))
    for ln in (DATA / "GT-final_test.csv").read_bytes().decode().split("\r\n")[1:]
    if ln
]


def test_class_names_match_clip_benchmark():
    assert list(GTSRB_CLASSNAMES) == json.loads((DATA / "clip_gtsrb_classnames.json").read_text())


def test_fixture_csv_keeps_crlf():
    assert (DATA / "GT-final_test.csv").read_bytes().count(b"\r\n") == len(REAL_TEST) + 1


@pytest.mark.parametrize(
    "builder, layout",
    [(build_gtsrb_ini, "official INI"), (build_gtsrb_torchvision, "torchvision"), (build_gtsrb_kaggle, "Kaggle")],
)
def test_test_split_in_each_layout(tmp_path, builder, layout):
    task = Gtsrb(builder(tmp_path))
    items = list(task.items())
    assert layout in task.describe()["layout"]
    assert {it.id: it.meta["class_id"] for it in items} == {f[:-4]: c for f, c in REAL_TEST}
    for it in items:
        assert it.choices[it.answer] == GTSRB_CLASSNAMES[it.meta["class_id"]]
        assert it.question == "What kind of traffic sign is this?"
    assert task.load_image(items[0]).size == (16, 16)


def test_choice_sets_are_the_same_in_every_layout(tmp_path):
    sets = [
        {it.id: (it.choices, it.answer) for it in Gtsrb(b(tmp_path / b.__name__)).items()}
        for b in (build_gtsrb_ini, build_gtsrb_torchvision, build_gtsrb_kaggle)
    ]
    assert sets[0] == sets[1] == sets[2]


@pytest.mark.parametrize("builder", [build_gtsrb_ini, build_gtsrb_torchvision, build_gtsrb_kaggle])
def test_train_split_in_each_layout(tmp_path, builder):
    items = list(Gtsrb(builder(tmp_path), split="train").items())
    assert sorted({it.meta["class_id"] for it in items}) == [0, 1, 14]
    assert len(items) == 9
    assert all(it.id.startswith(f"{it.meta['class_id']:05d}/") for it in items)


def test_factory_finds_torchvision_root_and_data_root(tmp_path):
    build_gtsrb_torchvision(tmp_path / "tv")
    assert len(list(build(path=tmp_path / "tv").items())) == len(REAL_TEST)
    build_gtsrb_ini(tmp_path / "root" / "gtsrb")
    assert len(list(build(data_root=tmp_path / "root").items())) == len(REAL_TEST)


def test_row_order_and_a_stray_leading_blank_line_do_not_matter(tmp_path):
    root = build_gtsrb_ini(tmp_path)
    before = {it.id: (it.choices, it.answer) for it in Gtsrb(root).items()}
    lines = (root / "GT-final_test.csv").read_bytes().split(b"\r\n")
    body = [ln for ln in lines[1:] if ln][::-1]
    (root / "GT-final_test.csv").write_bytes(b"\r\n" + b"\r\n".join([lines[0]] + body) + b"\r\n")
    after = Gtsrb(root)
    assert {it.id: (it.choices, it.answer) for it in after.items()} == before
    assert [it.id for it in after.items()] == [it.id for it in Gtsrb(root).items()]


def test_only_the_unlabeled_test_csv_is_a_clear_error(tmp_path):
    root = build_gtsrb_ini(tmp_path)
    (root / "GT-final_test.csv").unlink()
    with pytest.raises(DatasetNotFound, match="GT-final_test.test.csv is the unlabeled variant"):
        Gtsrb(root)


def test_missing_root_names_path_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*Expected layout: official INI"):
        build(path=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match="no GTSRB test split under .*empty"):
        build(path=tmp_path / "empty")
    with pytest.raises(DatasetNotFound, match="--data-root"):
        build()


def test_bad_class_id_and_empty_csv(tmp_path):
    root = build_gtsrb_ini(tmp_path)
    gt = root / "GT-final_test.csv"
    gt.write_bytes(gt.read_bytes().replace(b";16\r\n", b";43\r\n", 1))
    with pytest.raises(DatasetFormatError, match=r"GT-final_test.csv:2: ClassId 43"):
        Gtsrb(root).load()
    gt.write_bytes(b"Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\r\n")
    with pytest.raises(DatasetFormatError, match="no items"):
        Gtsrb(root).load()


def test_missing_and_corrupt_images_raise_image_error(tmp_path):
    root = build_gtsrb_ini(tmp_path)
    task = Gtsrb(root)
    by_id = {it.id: it for it in task.items()}
    (root / "GTSRB" / "Final_Test" / "Images" / "00000.ppm").unlink()
    write_corrupt(root / "GTSRB" / "Final_Test" / "Images" / "00001.ppm")
    with pytest.raises(ImageError, match="not found.*00000.ppm"):
        task.load_image(by_id["00000"])
    with pytest.raises(ImageError, match="cannot read.*00001.ppm"):
        task.load_image(by_id["00001"])
    assert task.describe()["images_missing"] == 1

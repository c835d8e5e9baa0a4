"""Captioned images from harness tasks (captions, class indices, TSI actions, GTSRB train split)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PIL import Image

from harness.clip.data import GTSRB_TEMPLATES, CaptionedImages, from_task, task_split
from harness.clip.loader import train_transform
from harness.errors import InvalidInput
from harness.tasks.base import Item
from harness.tasks.captions import GTSRB_CLASSNAMES
from harness.tasks.registry import build_task
from harness.tasks.toy_shapes import write_mcq_set


def test_mcq_task_captions_are_the_correct_choices(tmp_path):
    path = write_mcq_set(tmp_path, 12, seed=0)
    task = build_task(f"mcq_jsonl={path}")
    data = from_task(task, limit=10)
    items = list(task.items())[:10]
    assert len(data) == 10 and data.templates == ("{}",)
    assert [data.class_names[c] for c in data.labels] == [it.choices[it.answer] for it in items]
    assert data.fingerprint() == from_task(task, limit=10).fingerprint() != from_task(task, limit=9).fingerprint()


def _task(items, name="x", labels=None):
    return SimpleNamespace(name=name, labels=labels, items=lambda: iter(items))


def test_meta_caption_index_and_action_keys(tmp_path):
    for k in range(4):  # images are checked before training: they must exist
        Image.new("RGB", (4, 4)).save(tmp_path / f"{k}.png")
    items = [
        Item(f"i{k}", str(tmp_path / f"{k}.png"), "q", ("a", "b"), 0, {"caption": cap, "class_index": idx})
        for k, (cap, idx) in enumerate([("cat", 2), ("dog", 0), ("cat", 2)])
    ]
    data = from_task(_task(items))
    assert data.labels == [2, 0, 2] and data.class_names == ["dog", "class 1", "cat"]
    acts = [("Enter", "walking"), ("Walk", "walking"), ("Readbook", "reading a book"), ("Enter", "walking")]
    items = [
        Item(f"t{k}", str(tmp_path / f"{k}.png"), "q", (cap, "x"), 0, {"action": a}) for k, (a, cap) in enumerate(acts)
    ]
    data = from_task(_task(items, "tsi"))
    assert data.class_keys == ["Enter", "Walk", "Readbook"] and data.labels == [0, 1, 2, 0]
    assert data.class_names == ["walking", "walking", "reading a book"]
    assert data.templates == ("a photo of a person {}",) and data.text(2, 0) == "a photo of a person reading a book"


def test_gtsrb_train_split_keeps_class_ids_and_the_clip_templates(tmp_path):
    root = tmp_path / "gtsrb"
    (root / "Train").mkdir(parents=True)
    rows = ["Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path"]
    for k, cid in enumerate([14, 3, 14, 42]):
        Image.new("RGB", (8, 8), (cid, 0, 0)).save(root / "Train" / f"{k}.png")
        rows.append(f"8,8,0,0,8,8,{cid},Train/{k}.png")
    (root / "Train.csv").write_text("\n".join(rows) + "\n")
    (root / "Test.csv").write_text(rows[0] + "\n" + rows[1] + "\n")  # `gts` builds its test split first
    task = task_split("gts", tmp_path, "train")
    assert task.split == "train"
    data = from_task(task)
    assert data.class_names == list(GTSRB_CLASSNAMES) and sorted(data.labels) == [3, 14, 14, 42]
    assert tuple(data.templates) == GTSRB_TEMPLATES and data.image(0).size == (8, 8)


def test_task_factories_taking_a_split_get_it(monkeypatch, tmp_path):
    import harness.tasks.registry as registry

    registry.available()
    seen = {}

    def factory(path=None, data_root=None, seed=0, split=None):
        seen.update(path=path, data_root=data_root, seed=seed, split=split)
        return SimpleNamespace(split=split)

    monkeypatch.setitem(registry._REGISTRY, "fake_split_task", factory)
    task = task_split(f"fake_split_task={tmp_path}", None, "train", seed=4)
    assert task.split == "train" and seen == {"path": tmp_path, "data_root": None, "seed": 4, "split": "train"}


def test_validation_and_transforms():
    with pytest.raises(ValueError, match="placeholder"):
        CaptionedImages([], ["a"], ("no slot",))
    with pytest.raises(ValueError, match="outside"):
        CaptionedImages([("x.png", 3)], ["a"])
    im = Image.new("RGB", (50, 40), (200, 10, 10))
    for aug in ("released", "none"):
        assert train_transform(32, (0.5,) * 3, (0.5,) * 3, aug)(im).shape == (3, 32, 32)


def test_every_training_image_is_checked_before_training(tmp_path):
    """A missing or corrupt image fails `from_task` naming each item, instead of a traceback mid-training."""
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    items = [
        Item(f"i{k}", str(tmp_path / name), "q", ("a", "b"), 0)
        for k, name in enumerate(["ok.png", "gone.png", "broken.png"])
    ]
    with pytest.raises(InvalidInput, match="2 of 3 training images") as err:
        from_task(_task(items))
    assert "gone.png" in str(err.value) and "broken.png" in str(err.value)

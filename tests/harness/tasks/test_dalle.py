"""DA·E: folder per class and LoRSU's flat layout."""

from __future__ import annotations

import pytest

from harness.tasks.captions import ACTION_CAPTIONS
from harness.tasks.dalle import Dalle, build, caption_of
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.fixtures import build_dalle_flat, build_dalle_per_class, write_image


def test_caption_names_in_both_spellings():
    assert caption_of("holding-a-cup") == caption_of("holding a cup") == "holding a cup"
    assert caption_of("watching-TV") == caption_of("Watching_tv") == "watching TV"
    assert caption_of("juggling") is None


def test_both_layouts_give_the_same_labels(tmp_path):
    per_class = Dalle(build_dalle_per_class(tmp_path / "a", per_class=2))
    flat = Dalle(build_dalle_flat(tmp_path / "b", per_class=2))
    for task in (per_class, flat):
        items = list(task.items())
        assert len(items) == 44
        assert sorted(it.meta["label"] for it in items) == sorted(list(ACTION_CAPTIONS) * 2)
        assert all(it.choices[it.answer] == it.meta["label"] for it in items)
    assert "folder per class" in per_class.describe()["layout"]
    assert "flat LoRSU" in flat.describe()["layout"]
    assert flat.describe()["dropped"] == {"unknown class 'juggling'": 1}
    assert per_class.describe()["dropped"] == {}


def test_flat_files_directly_in_the_root(tmp_path):
    build_dalle_flat(tmp_path / "x")
    task = build(path=tmp_path / "x" / "v2")
    assert len(list(task.items())) == 44 and task.describe()["layout"].startswith("flat LoRSU (<caption")


def test_unknown_folders_are_counted_and_hidden_files_ignored(tmp_path):
    root = build_dalle_per_class(tmp_path, per_class=1, captions=("walking", "eating"))
    write_image(root / "misc" / "1.png", 1)
    write_image(root / "walking" / ".partial.png", 2)
    task = Dalle(root)
    assert sorted(it.id for it in task.items()) == ["eating/0", "walking/0"]
    assert task.describe()["dropped"] == {"unknown class 'misc'": 1}


def test_missing_and_empty(tmp_path):
    with pytest.raises(DatasetNotFound, match="does not exist.*folder per class"):
        build(path=tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match="no DA·E images under"):
        build(path=tmp_path / "empty")
    (tmp_path / "v" / "v2").mkdir(parents=True)
    with pytest.raises(DatasetFormatError, match="no items"):
        build(path=tmp_path / "v")


def test_determinism_across_loads_and_seeds(tmp_path):
    root = build_dalle_flat(tmp_path)
    assert list(Dalle(root, seed=1).items()) == list(Dalle(root, seed=1).items())
    assert list(Dalle(root, seed=1).items()) != list(Dalle(root, seed=2).items())

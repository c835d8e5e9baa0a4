"""VSR: released split files, flat images with COCO fallback, true/false, per-relation breakdown."""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from harness.tasks.vsr import Vsr, build
from tests.harness.tasks.fixtures import DATA, build_vsr

ZS_ROWS = [json.loads(x) for x in (DATA / "vsr_zeroshot_test.jsonl").read_text().splitlines()]


def test_zeroshot_test_rows(tmp_path):
    task = Vsr(build_vsr(tmp_path))
    items = list(task.items())
    assert [it.question for it in items] == [r["caption"] for r in ZS_ROWS]
    assert [it.answer for it in items] == [0 if r["label"] == 1 else 1 for r in ZS_ROWS]
    assert [it.meta["relation"] for it in items] == [r["relation"] for r in ZS_ROWS]
    assert items[0].meta["subj"] == "car" and items[0].choices == ("true", "false")
    assert task.describe()["split"] == "zeroshot/test" and task.describe()["images_missing"] == 0


def test_coco_fallback_follows_image_link(tmp_path):
    root = build_vsr(tmp_path)
    folders = [it.image.split("/")[-2] for it in Vsr(root).items()]
    # the fixture puts row 0 only in train2017/, val2017 rows only in val2017/, the rest in images/
    expected = [
        "train2017" if k == 0 else "val2017" if "val2017" in r["image_link"] else "images"
        for k, r in enumerate(ZS_ROWS)
    ]
    assert folders == expected and "val2017" in folders
    # a copy in the flat folder wins over the COCO folder
    (root / "images" / ZS_ROWS[0]["image"]).write_bytes((root / "train2017" / ZS_ROWS[0]["image"]).read_bytes())
    assert next(Vsr(root).items()).image == str(root / "images" / ZS_ROWS[0]["image"])


def test_random_split_and_split_file_spec(tmp_path):
    root = build_vsr(tmp_path / "vsr")
    task = build(path=root / "random" / "test.jsonl")
    assert task.split == "random/test" and task.root == root
    assert "reference_frame" not in next(task.items()).meta
    assert len(list(Vsr(root, variant="random").items())) == len(list(task.items()))
    # the repository layout: data/splits/<variant>/<split>.jsonl with data/images/
    repo = tmp_path / "repo" / "data"
    shutil.copytree(root / "zeroshot", repo / "splits" / "zeroshot")
    shutil.copytree(root / "images", repo / "images")
    assert build(path=repo / "splits" / "zeroshot" / "test.jsonl").root == repo
    assert len(list(build(path=tmp_path / "repo").items())) == len(ZS_ROWS)


def test_ids_are_stable_and_unique(tmp_path):
    a = [it.id for it in Vsr(build_vsr(tmp_path / "a")).items()]
    assert len(set(a)) == len(a) and a[0].startswith("000000017697-")
    root = build_vsr(tmp_path / "b")
    f = root / "zeroshot" / "test.jsonl"
    f.write_text("\n".join(f.read_text().splitlines()[::-1]) + "\n")
    assert sorted(it.id for it in Vsr(root).items()) == sorted(a)


def _sample(item, pred: int, error: str | None = None) -> dict[str, Any]:
    return {
        "id": item.id,
        "answer": item.answer,
        "pred": pred,
        "pred_norm": pred,
        "meta": item.meta,
        "error": error,
        "logprobs": [0.0, 0.0],
    }


def test_per_relation_breakdown_by_hand(tmp_path):
    task = Vsr(build_vsr(tmp_path))
    items = list(task.items())[:6]
    # relations of the first six real rows, and a chosen right/wrong pattern
    rels = [it.meta["relation"] for it in items]
    right = [True, False, True, True, False, True]
    samples = [_sample(it, it.answer if ok else 1 - it.answer) for it, ok in zip(items, right)]
    samples.append(_sample(items[0], 1 - items[0].answer, error="image not found"))
    expected: dict[str, list[bool]] = {}
    for r, ok in zip(rels, right):
        expected.setdefault(r, []).append(ok)
    got = task.breakdown(samples)["relation"]
    assert {k: m.value for k, m in got.items()} == {k: sum(v) / len(v) for k, v in expected.items()}
    assert task.metrics(samples)["acc"].value == pytest.approx(4 / 6)


def test_generation_extraction_and_prompts(tmp_path):
    task = Vsr(build_vsr(tmp_path))
    it = next(task.items())
    assert task.extract_answer(it, "False.") == 1 and task.extract_answer(it, "It is true") == 0
    assert (
        task.generate_prompt(it, "minigptv2")
        == "[vqa] Based on the image, is this statement true or false? The car is behind the suitcase."
    )
    assert task.prompt(it, "llava", "text").continuations == ("True", "False")
    assert task.prompt(it, "minigptv2", "text").continuations == ("true", "false")


def test_errors_name_the_layout(tmp_path):
    with pytest.raises(DatasetNotFound, match="zeroshot/test.jsonl not found.*Expected layout"):
        build(path=tmp_path)
    root = build_vsr(tmp_path / "v")
    for d in ("images", "train2017", "val2017"):
        shutil.rmtree(root / d)
    with pytest.raises(DatasetNotFound, match="no image folder"):
        build(path=root)
    root = build_vsr(tmp_path / "w")
    (root / "zeroshot" / "test.jsonl").write_text('{"image": "x.jpg", "caption": "c", "label": 2, "relation": "r"}\n')
    with pytest.raises(DatasetFormatError, match=r"test.jsonl:1: 'label' must be 1"):
        build(path=root)
    (root / "zeroshot" / "test.jsonl").write_text("\n")
    with pytest.raises(DatasetFormatError, match="no items"):
        build(path=root)

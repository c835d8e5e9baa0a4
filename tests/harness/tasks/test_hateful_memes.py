"""Hateful Memes: split names, id types, img paths, accuracy and AUROC from P(yes)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from sklearn.metrics import roc_auc_score

from harness.tasks.base import ImageError
from harness.tasks.hateful_memes import HatefulMemes, build, p_yes
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.fixtures import DATA, build_hm

UNSEEN = [json.loads(x) for x in (DATA / "hm_test_unseen.jsonl").read_text().splitlines()]


def test_default_split_rows(tmp_path):
    task = build(path=build_hm(tmp_path))
    items = list(task.items())
    assert [it.id for it in items] == [r["id"] for r in UNSEEN]
    assert [it.answer for it in items] == [0 if r["label"] == 1 else 1 for r in UNSEEN]
    assert items[0].question == UNSEEN[0]["text"] and task.split == "test_unseen"


def test_int_ids_escaped_slashes_and_stray_fields(tmp_path):
    root = build_hm(tmp_path)
    assert '"id": 8291' in (root / "dev_seen.jsonl").read_text() and "img\\/" in (root / "dev_seen.jsonl").read_text()
    items = list(build(path=root / "dev_seen.jsonl").items())
    assert items[0].id == "8291"  # the int id, as a string
    assert items[0].image.endswith("img/08291.png")  # from `img`, not rebuilt from the id
    assert HatefulMemes(root).load()  # both files coexist


def test_img_is_never_rebuilt_from_id(tmp_path):
    root = tmp_path
    (root / "memes").mkdir()
    (root / "dev.jsonl").write_text(
        '{"id": 1, "img": "memes/other_name.png", "label": 0, "text": "t"}\n'
        '{"id": "2", "img": "memes/x.png", "text": "unlabeled"}\n'
    )
    items = list(HatefulMemes(root, split="dev").items())
    assert items[0].image == str(root / "memes" / "other_name.png")
    assert items[1].answer == -1 and items[1].meta["label"] is None


def test_phase1_names_and_missing_split(tmp_path):
    (tmp_path / "train.jsonl").write_text('{"id": "1", "img": "img/1.png", "label": 0, "text": "a"}\n')
    (tmp_path / "test.jsonl").write_text('{"id": "2", "img": "img/2.png", "text": "b"}\n')
    with pytest.raises(
        DatasetNotFound,
        match=r"test_unseen.jsonl not found \(present: \['test.jsonl', "
        r"'train.jsonl'\]; pick one with --tasks hm:<split>",
    ):
        build(path=tmp_path)
    assert [it.answer for it in HatefulMemes(tmp_path, split="test").items()] == [-1]


def _sample(item, lp_yes: float, lp_no: float, error: str | None = None) -> dict[str, Any]:
    lps = [lp_yes, lp_no]
    pred = 0 if lp_yes >= lp_no else 1
    return {
        "id": item.id,
        "answer": item.answer,
        "meta": item.meta,
        "error": error,
        "logprobs": lps,
        "pred": pred,
        "pred_norm": pred,
        "correct": pred == item.answer,
    }


def test_auroc_equals_sklearn_and_a_hand_count(tmp_path):
    items = list(build(path=build_hm(tmp_path)).items())  # 6 hateful then 6 not hateful
    lps = [
        (-0.1, -2.0),
        (-1.0, -0.5),
        (-0.3, -0.3),
        (-2.0, -0.1),
        (-0.2, -1.0),
        (-0.7, -0.9),
        (-0.5, -1.5),
        (-3.0, -0.1),
        (-1.2, -0.4),
        (-0.2, -0.3),
        (-2.5, -0.2),
        (-1.0, -1.0),
    ]
    samples = [_sample(it, a, b) for it, (a, b) in zip(items, lps)]
    samples.append(_sample(items[0], -9.0, 0.0, error="cannot read image"))
    m = build(path=tmp_path).metrics(samples)
    labels = [r["label"] for r in UNSEEN]
    scores = [math.exp(a) / (math.exp(a) + math.exp(b)) for a, b in lps]
    assert m["auroc"].value == pytest.approx(roc_auc_score(labels, scores))
    # by hand: the fraction of (hateful, not hateful) pairs ranked correctly, ties counted one half
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    assert m["auroc"].value == pytest.approx(pairs / (len(pos) * len(neg)))
    assert m["acc"].value == pytest.approx(sum(s["correct"] for s in samples[:-1]) / 12)


def test_p_yes_is_stable():
    assert p_yes([-1000.0, -1000.0]) == 0.5
    assert p_yes([0.0, -1e6]) == 1.0 and p_yes([-1e6, 0.0]) == 0.0


def test_generative_mode_reports_accuracy_only(tmp_path):
    task = build(path=build_hm(tmp_path))
    items = list(task.items())
    samples = [
        {
            "id": it.id,
            "answer": it.answer,
            "meta": it.meta,
            "error": None,
            "generation": g,
            "pred": task.extract_answer(it, g),
        }
        for it, g in zip(items[:2], ["Yes.", "no"])
    ]
    m = task.metrics(samples)
    assert set(m) == {"acc", "acc_official"} and m["acc"].value == 0.5 and m["acc_official"].value == 0.5
    assert (
        task.generate_prompt(items[0], "minigptv2")
        == task.generate_prompt(items[0], "llava")
        == (
            "This is an image writting 'when someone tells you how to bbq'. Is this image hateful? "
            "Answer yes or no. Answer:"
        )
    )


def test_single_class_auroc_is_nan_and_bad_rows(tmp_path):
    root = build_hm(tmp_path)
    task = build(path=root / "dev_seen.jsonl")  # all hateful
    samples = [_sample(it, -0.1, -1.0) for it in task.items()]
    assert math.isnan(task.metrics(samples)["auroc"].value)
    (root / "bad.jsonl").write_text('{"id": true, "img": "img/x.png", "text": "t"}\n')
    with pytest.raises(DatasetFormatError, match="bad.jsonl:1: 'id' must be"):
        build(path=root / "bad.jsonl")
    (root / "bad.jsonl").write_text('{"id": "1", "img": "img/x.png"}\n')
    with pytest.raises(DatasetFormatError, match="missing 'text'"):
        build(path=root / "bad.jsonl")


def test_missing_image_is_an_image_error(tmp_path):
    task = build(path=build_hm(tmp_path, missing_image=True))
    with pytest.raises(ImageError, match="not found"):
        task.load_image(next(task.items()))
    assert task.describe()["images_missing"] == 1


def test_duplicate_ids_are_an_error(tmp_path):
    row = '{"id": "7", "img": "img/7.png", "label": 0, "text": "t"}\n'
    (tmp_path / "dev.jsonl").write_text(row + row.replace('"7"', "7"))
    with pytest.raises(DatasetFormatError, match=r"duplicate item ids .*\['7'\]"):
        HatefulMemes(tmp_path, split="dev").load()

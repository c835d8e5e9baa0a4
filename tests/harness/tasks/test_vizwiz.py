"""VizWiz: release layout, candidate lists, VQA-accuracy metrics in likelihood and generative mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.tasks.base import ImageError
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from harness.tasks.vizwiz import UNANSWERABLE, VizWiz, build
from harness.tasks.vqa_accuracy import vqa_accuracy
from tests.harness.tasks.fixtures import VIZWIZ_RECORDS, build_vizwiz


@pytest.fixture()
def task(tmp_path) -> VizWiz:
    return VizWiz(build_vizwiz(tmp_path / "vizwiz", corrupt=True), n_frequent=3)


def test_items_carry_the_ten_answers_and_sorted_ids(task):
    items = list(task.items())
    assert [it.id for it in items] == [f"VizWiz_val_{k:08d}" for k in range(6)]
    by_image = {r["image"]: r for r in VIZWIZ_RECORDS}
    for it in items:
        assert it.meta["answers"] == by_image[it.id + ".jpg"]["answers"]
        assert it.meta["choices"] == list(it.choices)
    assert items[0].meta["answerable"] == 0 and items[0].meta["answer_type"] == "unanswerable"


def test_candidates_are_own_answers_unanswerable_and_frequent(task):
    # split-wide counts: coke 10, unanswerable 9, yes 9, then "3" and "blue" 5 each (ties alphabetical);
    # the 3 most frequent answers not already among the question's own are added
    items = {it.id: it for it in task.items()}
    basil = items["VizWiz_val_00000003"]
    assert set(basil.choices) == {"basil", "basil leaves", "unanswerable", "herbs", "Basil", "coke", "yes", "3"}
    coke = items["VizWiz_val_00000004"]
    assert set(coke.choices) == {"coke", UNANSWERABLE, "yes", "3", "blue"}
    for it in items.values():
        assert len(set(it.choices)) == len(it.choices)
        best = max(vqa_accuracy(c, it.meta["answers"]) for c in it.choices)
        assert vqa_accuracy(it.choices[it.answer], it.meta["answers"]) == best


def test_candidate_order_is_seeded_and_stable(tmp_path):
    root = build_vizwiz(tmp_path)
    assert list(VizWiz(root).items()) == list(VizWiz(root).items())
    assert [it.choices for it in VizWiz(root, seed=0).items()] != [it.choices for it in VizWiz(root, seed=1).items()]
    # reversing the file's records changes nothing
    path = root / "Annotations" / "val.json"
    path.write_text(json.dumps(json.loads(path.read_text())[::-1]))
    assert [(it.id, it.choices) for it in VizWiz(root).items()] == [
        (it.id, it.choices) for it in VizWiz(build_vizwiz(tmp_path / "fresh")).items()
    ]


def _sample(item, pred: int, pred_norm: int | None = None, error: str | None = None) -> dict[str, Any]:
    s = {
        "task": "vizwiz",
        "id": item.id,
        "answer": item.answer,
        "meta": item.meta,
        "error": error,
        "pred": pred,
        "logprobs": [0.0] * len(item.choices),
    }
    if pred_norm is not None:
        s["pred_norm"] = pred_norm
    return s


def test_likelihood_metric_scores_the_chosen_candidate(task):
    items = {it.id: it for it in task.items()}
    pills, light = items["VizWiz_val_00000001"], items["VizWiz_val_00000002"]
    s1 = _sample(pills, pills.choices.index("2"), pills.choices.index("3"))
    s2 = _sample(light, light.choices.index("no"), light.choices.index("yes"))
    err = _sample(items["VizWiz_val_00000003"], 0, 0, error="cannot read image")
    m = task.metrics([s1, s2, err])
    # "2" among 3×"2": (3·2/3 + 7·1)/10 = 0.9;  "no" once: 9·(1/3)/10 = 0.3;  "3" five times: 1;  "yes" nine times: 1
    assert m["vqa_acc"].value == pytest.approx((0.9 + 0.3) / 2)
    assert m["vqa_acc_norm"].value == pytest.approx(1.0)


def test_generative_samples_are_scored_from_the_text(task):
    items = {it.id: it for it in task.items()}
    pills = items["VizWiz_val_00000001"]
    gen = {
        "task": "vizwiz",
        "id": pills.id,
        "answer": pills.answer,
        "meta": pills.meta,
        "error": None,
        "generation": "Two.",
        "pred": task.extract_answer(pills, "Two."),
    }
    assert pills.choices[gen["pred"]] in ("2", "two")  # both normalise to "2"
    nothing = {**gen, "generation": "a bottle of pills", "pred": -1}
    m = task.metrics([gen, nothing])
    assert m["vqa_acc"].value == pytest.approx((0.9 + 0.0) / 2) and "vqa_acc_norm" not in m


def test_breakdown_by_answer_type(task):
    items = {it.id: it for it in task.items()}
    samples = [_sample(it, it.answer) for it in items.values()]
    samples.append({**_sample(items["VizWiz_val_00000004"], 0), "id": "x"})
    wrong = items["VizWiz_val_00000004"].choices.index("yes")
    samples[-1]["pred"] = wrong
    by_type = task.breakdown(samples)["answer_type"]
    assert set(by_type) == {"other", "number", "unanswerable", "yes/no"}
    assert by_type["yes/no"].value == 1.0
    assert by_type["other"].value == pytest.approx(3 / 4)


def test_prompts_per_family(task):
    it = next(task.items())
    assert task.generate_prompt(it, "minigptv2").startswith("[vqa] The question is 'What does this say?' Based")
    assert task.generate_prompt(it, "llava").startswith("The question is 'What does this say?'. Based")
    p = task.prompt(it, "llava", "text")
    assert p.continuations == it.choices
    assert task.prompt(it, "llava", "options").continuations == tuple("ABCDEFG"[: len(it.choices)])


def test_corrupt_image_and_missing_files(task, tmp_path):
    with pytest.raises(ImageError, match="cannot read"):
        task.load_image(next(it for it in task.items() if it.id == "VizWiz_val_00000003"))
    with pytest.raises(DatasetNotFound, match="Annotations/val.json not found.*Expected layout"):
        build(path=tmp_path)
    root = build_vizwiz(tmp_path / "v2")
    (root / "Annotations" / "val.json").write_text('{"image": "x"}')
    with pytest.raises(DatasetFormatError, match="expected a JSON array"):
        build(path=root)
    (root / "Annotations" / "val.json").write_text("[]")
    with pytest.raises(DatasetFormatError, match="no items"):
        build(path=root)
    for p in (root / "val").iterdir():
        p.unlink()
    (root / "val").rmdir()
    with pytest.raises(DatasetNotFound, match="image folder .*val not found"):
        build(path=root)

"""POPE tests: the released JSON Lines layouts, ids, located errors, the parser and one CLI run.
The metrics are checked against POPE's TP/FP/TN/FN formulas, overall and per split, and by hand."""

from __future__ import annotations

import json
import math
import random
import shutil
from typing import Any

import pytest

from harness.tasks.base import Item
from harness.tasks.pope import METRICS, PROMPTS, SPLITS, Pope, build, parse_pope
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures_yes_no import POPE_ROWS, build_pope


def test_release_layout_all_splits(tmp_path):
    task = build(data_root=build_pope(tmp_path / "pope").parent)
    items = list(task.items())
    assert len(items) == 18 and task.split == "all"
    assert task.describe()["counts"] == {"random": 6, "popular": 6, "adversarial": 6}
    assert task.describe()["images_missing"] == 0 and "output/coco/" in task.layout
    assert [it.meta["category"] for it in items] == [s for s in SPLITS for _ in range(6)]
    assert items[0].id == "random-1" and items[-2].id == "adversarial-5"
    assert items[-2].question == "Is there a skis in the image?" and items[-2].answer == 0
    assert items[1].answer == 1 and items[1].choices == ("yes", "no")
    assert items[1].image.endswith("pope/val2014/COCO_val2014_000000310196.jpg")
    assert items[1].meta["image"] == "COCO_val2014_000000310196.jpg"
    assert [it.answer for it in items] == [0 if r[2] == "yes" else 1 for s in SPLITS for r in POPE_ROWS[s]]


def test_one_split_by_name(tmp_path):
    build_pope(tmp_path / "pope")
    task = build_task("pope:adversarial", data_root=tmp_path)
    assert task.split == "adversarial" and [it.id for it in task.items()] == [f"adversarial-{k}" for k in range(1, 7)]
    assert len(list(build_task("pope:random+popular", data_root=tmp_path).items())) == 12
    with pytest.raises(ValueError, match="unknown split"):
        build_task("pope:imagenet", data_root=tmp_path)


def test_ids_stable_unique_and_independent_of_line_order(tmp_path):
    a = [it.id for it in build(path=build_pope(tmp_path / "a")).items()]
    assert len(set(a)) == len(a) == 18
    root = build_pope(tmp_path / "b")
    f = root / "output" / "coco" / "coco_pope_popular.json"
    f.write_text("\n".join(f.read_text().splitlines()[::-1]) + "\n")
    b = build(path=root)
    assert sorted(it.id for it in b.items()) == sorted(a)
    assert {it.id: it.question for it in b.items()}["popular-2"] == "Is there a dining table in the image?"


@pytest.mark.parametrize(("files_dir", "image_dir"), [(".", "val2014"), ("coco", "images"), ("output/coco", "images")])
def test_alternative_layouts(tmp_path, files_dir, image_dir):
    task = build(path=build_pope(tmp_path, files_dir=files_dir, image_dir=image_dir))
    assert len(list(task.items())) == 18 and task.describe()["images_missing"] == 0
    assert next(task.items()).image == str(tmp_path / image_dir / "COCO_val2014_000000310196.jpg")


def test_missing_files_and_image_folder(tmp_path):
    root = build_pope(tmp_path / "pope")
    (root / "output" / "coco" / "coco_pope_popular.json").unlink()
    with pytest.raises(DatasetNotFound, match=r"coco_pope_popular.json not found .*pope:<split>.*Expected layout"):
        build(path=root)
    assert len(list(build(path=root, split="random").items())) == 6
    shutil.rmtree(root / "val2014")
    with pytest.raises(DatasetNotFound, match=r"no image folder under .*pope \(looked for val2014/, images/\)"):
        build(path=root, split="random")
    with pytest.raises(DatasetNotFound, match="does not exist"):
        build(data_root=tmp_path / "elsewhere")


def test_broken_lines_name_file_and_line(tmp_path):
    root = build_pope(tmp_path)
    f = root / "output" / "coco" / "coco_pope_popular.json"
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:2] + ['{"question_id": 3, "image": "x.jpg", "text": "Is'] + lines[3:]) + "\n")
    with pytest.raises(DatasetFormatError, match=r"coco_pope_popular.json:3: not valid JSON.*JSON Lines"):
        build(path=root)
    f.write_text("\n".join(lines[:3] + [lines[3].replace('"no"', '"maybe"')]) + "\n")
    with pytest.raises(DatasetFormatError, match=r'coco_pope_popular.json:4: .label. must be "yes" or "no"'):
        build(path=root)
    f.write_text(json.dumps([json.loads(x) for x in lines]))  # a JSON array is not the release format
    with pytest.raises(DatasetFormatError, match=r"coco_pope_popular.json:1: expected a JSON object.*JSON Lines"):
        build(path=root)
    f.write_text('{"question_id": 1, "image": "a.jpg", "label": "yes"}\n')
    with pytest.raises(DatasetFormatError, match=r"coco_pope_popular.json:1: missing 'text'"):
        build(path=root)


def _sample(item, pred: int, error: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "answer": item.answer, "meta": item.meta, "error": error, "pred": pred}


def oracle(labels: list[str], preds: list[str]) -> dict[str, float]:
    """POPE's formulas with positive = yes, written out from TP/FP/TN/FN."""
    tp = sum(p == "yes" and g == "yes" for p, g in zip(preds, labels))
    fp = sum(p == "yes" and g == "no" for p, g in zip(preds, labels))
    tn = sum(p == "no" and g == "no" for p, g in zip(preds, labels))
    fn = sum(p == "no" and g == "yes" for p, g in zip(preds, labels))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return {
        "acc": (tp + tn) / (tp + tn + fp + fn),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
        "yes_ratio": preds.count("yes") / len(preds),
    }


def test_metrics_by_hand(tmp_path):
    task = build(path=build_pope(tmp_path), split="random")
    items = list(task.items())  # labels yes no yes no yes no
    # predictions yes yes no no yes no: TP 2 (items 1, 5), FP 1 (item 2), FN 1 (item 3), TN 2
    samples = [_sample(it, p) for it, p in zip(items, [0, 0, 1, 1, 0, 1])]
    samples.append(_sample(items[1], 1, error="image not found"))  # an error is left out
    m = task.metrics(samples)
    assert set(m) == set(METRICS)
    assert m["acc"].value == pytest.approx(4 / 6, abs=1e-12)
    assert m["precision"].value == pytest.approx(2 / 3, abs=1e-12)
    assert m["recall"].value == pytest.approx(2 / 3, abs=1e-12)
    assert m["f1"].value == pytest.approx(2 / 3, abs=1e-12)
    assert m["yes_ratio"].value == 0.5
    # mean_stderr: sample variance of four 1s and two 0s is 4/15
    assert m["acc"].stderr == pytest.approx(math.sqrt(4 / 15 / 6), abs=1e-12)
    assert m["yes_ratio"].stderr == pytest.approx(math.sqrt(0.3 / 6), abs=1e-12)
    assert m["precision"].stderr is None and m["recall"].stderr is None and m["f1"].stderr is None


def test_zero_denominators(tmp_path):
    task = build(path=build_pope(tmp_path), split="random")
    items = list(task.items())
    m = task.metrics([_sample(it, 1) for it in items])  # always "no": no predicted positive
    assert math.isnan(m["precision"].value) and m["recall"].value == 0 and m["f1"].value == 0
    assert m["yes_ratio"].value == 0 and m["acc"].value == 0.5
    only_no = [_sample(it, 1) for it in items if it.answer == 1]  # all true negatives
    m = task.metrics(only_no)
    assert math.isnan(m["precision"].value) and math.isnan(m["recall"].value) and math.isnan(m["f1"].value)
    assert m["acc"].value == 1.0


def test_metrics_and_split_breakdown_equal_the_formulas(tmp_path):
    task = build(path=build_pope(tmp_path))
    items = list(task.items())
    rng = random.Random(3)
    checked = 0
    for _ in range(40):
        preds = [rng.randrange(2) for _ in items]
        if not all(any(p == it.answer == 0 for p, it in zip(preds, items) if it.meta["category"] == s) for s in SPLITS):
            continue  # no true positive in a split: the official formulas divide by zero
        checked += 1
        labels = ["yes" if it.answer == 0 else "no" for it in items]
        words = ["yes" if p == 0 else "no" for p in preds]
        samples = [_sample(it, p) for it, p in zip(items, preds)]
        got = task.metrics(samples)
        want = oracle(labels, words)
        assert {k: got[k].value for k in METRICS} == pytest.approx(want, abs=1e-9)
        bd = task.breakdown(samples)
        assert set(bd) == {f"split_{k}" for k in METRICS} and list(bd["split_f1"]) == list(SPLITS)
        for s in SPLITS:
            idx = [i for i, it in enumerate(items) if it.meta["category"] == s]
            want = oracle([labels[i] for i in idx], [words[i] for i in idx])
            assert {k: bd[f"split_{k}"][s].value for k in METRICS} == pytest.approx(want, abs=1e-9)
    assert checked >= 10


def test_official_parser_edge_cases():
    cases = {
        "Yes": 0,
        "No": 1,
        "no": 1,
        "No.": 1,
        "No, there is no car in the image.": 1,
        "There is not a car in the image.": 1,
        "Yes, there is a car. No other vehicle is visible.": 0,  # only the first sentence counts
        "yes, no": 1,  # commas deleted: "no" is a word
        "NO": 0,  # case-sensitive words: anything else is yes
        "Not really": 0,
        "No!": 0,
        "I cannot tell": 0,
        "": 0,  # unparseable counts as yes
        "  No\n": 1,  # stripped first, as LLaVA's answer files are
        "Nobody knows": 0,
    }
    assert {t: parse_pope(t) for t in cases} == cases


def test_generate_mode_samples(tmp_path):
    task = build(path=build_pope(tmp_path), split="random")
    items = list(task.items())  # labels yes no yes no yes no
    texts = ["Yes, there is.", "There is no car.", "I am not sure", "", "A snowboard", "No"]
    samples = [{**_sample(it, task.extract_answer(it, t)), "generation": t} for it, t in zip(items, texts)]
    m = task.metrics(samples)
    want = oracle(["yes", "no", "yes", "no", "yes", "no"], ["yes", "no", "no", "yes", "yes", "no"])
    assert {k: m[k].value for k in METRICS} == pytest.approx(want, abs=1e-9)


def test_prompts():
    assert Pope.prompts is PROMPTS
    it = Item("random-1", "x.jpg", "Is there a snowboard in the image?", ("yes", "no"), 0)
    gen = "Is there a snowboard in the image?\nAnswer the question using a single word or phrase."
    assert PROMPTS.render(it, "llava", "generate") == gen
    assert PROMPTS.prompt(it, "llava", "text").instruction == gen
    assert PROMPTS.prompt(it, "llava", "text").continuations == ("Yes", "No")
    assert PROMPTS.prompt(it, "minigptv2", "text").continuations == ("yes", "no")
    opts = PROMPTS.prompt(it, "llava", "options")
    assert opts.continuations == ("A", "B") and "\nA. Yes\nB. No\nAnswer with the option's letter" in opts.instruction


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_pope(tmp_path / "data" / "pope")
    rec, samples = eval_task("pope", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 4)
    assert rec["n"] == 4 and set(rec["metrics"]) == set(METRICS)
    assert set(rec["breakdown"]) == {f"split_{k}" for k in METRICS} and set(rec["breakdown"]["split_acc"]) == {"random"}
    assert [s["id"] for s in samples] == ["random-1", "random-2", "random-3", "random-4"]
    words = ["yes" if s["pred"] == 0 else "no" for s in samples]
    assert rec["metrics"]["yes_ratio"]["value"] == words.count("yes") / 4
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 4


def _strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_undefined_metrics_are_null_in_strict_json(tiny_llava_dir, tmp_path, monkeypatch):
    """No "yes" answer: precision is undefined. results.json (jq, JavaScript) holds null there, not NaN, and the
    summary prints "undefined", for the run and for its re-run read back from results.json (issue 27, item 5)."""
    from typer.testing import CliRunner

    from harness.cli import app

    monkeypatch.setattr(Pope, "extract_answer", lambda self, item, generation: 1)  # always "no"
    build_pope(tmp_path / "data" / "pope")
    args = ["eval", "--tasks", "pope:random", "--data-root", str(tmp_path / "data"), "--model", str(tiny_llava_dir)]
    args += ["--device", "cpu", "--mode", "generate", "--max-new-tokens", "2", "--out", str(tmp_path / "run")]
    for _ in range(2):  # the second finds the run finished and prints it from results.json
        res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
        assert res.exit_code == 0, res.output
        assert "undefined" in next(line for line in res.stdout.splitlines() if "pope:random" in line), res.stdout
    assert "already finished" in res.stdout
    results = _strict((tmp_path / "run" / "results.json").read_text())
    m = results["tasks"]["pope:random"]["metrics"]
    assert (
        m["precision"] == {"value": None, "stderr": None} and m["recall"]["value"] == 0.0 and m["acc"]["value"] == 0.5
    )
    assert results["tasks"]["pope:random"]["breakdown"]["split_precision"]["random"]["value"] is None
    assert all(_strict(x)["pred"] == 1 for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines())
    _strict((tmp_path / "run" / "config.json").read_text())

"""MME tests: both release layouts, the nested roots, ids, located errors, the parser and one CLI run.
The scores are checked against calculation.py's arithmetic (acc, acc+, sums) and a hand-worked example."""

from __future__ import annotations

import random
import shutil
from typing import Any

import pytest

from harness.tasks.base import ImageError
from harness.tasks.mme import COGNITION, PERCEPTION, PROMPTS, Mme, build, parse_mme
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures_yes_no import MME_COUNTS, MME_ROWS, SPLIT_LAYOUT, build_mme, mme_txt

TYPO = "Is the cricket bat under the batter's body Please answer yes or no."


def test_release_layouts_and_counts(tmp_path):
    task = build(data_root=build_mme(tmp_path / "mme").parent)
    items = list(task.items())
    d = task.describe()
    assert len(items) == d["items"] == sum(MME_COUNTS.values()) == 24 and d["images_missing"] == 0
    assert {s: sum(it.meta["subtask"] == s for it in items) for s in MME_COUNTS} == MME_COUNTS
    assert d["subtasks"] == {s: "split" if s in SPLIT_LAYOUT else "flat" for s in d["subtasks"]}
    assert set(d["subtasks"]) == set(MME_ROWS) and "count" in d["subtasks_missing"]
    # the official subtask order, perception first
    order = list(dict.fromkeys(it.meta["subtask"] for it in items))
    assert order == [s for s in PERCEPTION + COGNITION if s in MME_ROWS]
    first = items[0]
    assert first.id == "existence/000000006040/1" and first.answer == 0 and items[1].answer == 1
    assert first.question == "Is there a train in this image? Please answer yes or no."
    assert first.meta == {
        "subtask": "existence",
        "image": "000000006040",
        "category": "perception",
        "image_questions": 2,
    }
    by_id = {it.id: it for it in items}
    assert by_id["position/000000567886/2"].question == TYPO  # the release's typo, kept
    assert by_id["code_reasoning/0001/1"].image.endswith("mme/code_reasoning/0001.png")
    assert by_id["code_reasoning/0002/2"].meta["category"] == "cognition"
    assert by_id["artwork/10002/1"].image.endswith("mme/artwork/images/10002.jpg")
    scene = by_id["scene/Places365_val_00000001/1"]  # CRLF file without a final newline
    assert scene.question.endswith("greenhouse indoor? Please answer yes or no.") and scene.answer == 0


def test_ids_stable_and_unique(tmp_path):
    a = [it.id for it in build(path=build_mme(tmp_path / "a")).items()]
    b = [it.id for it in build(path=build_mme(tmp_path / "b")).items()]
    assert a == b and len(set(a)) == len(a)
    assert all(i.count("/") == 2 and i.rsplit("/", 1)[1] in ("1", "2") for i in a)


@pytest.mark.parametrize(
    ("folder", "nest"),
    [
        ("MME_Benchmark_release_version", ""),
        ("MME_Benchmark_release_version", "MME_Benchmark"),
        ("mme", "MME_Benchmark_release_version"),
        ("mme", "MME_Benchmark_release_version/MME_Benchmark"),
    ],
)
def test_alternative_roots(tmp_path, folder, nest):
    build_mme(tmp_path / folder, nest=nest)
    task = build_task("mme", data_root=tmp_path)
    assert len(list(task.items())) == 24 and task.describe()["images_missing"] == 0
    assert (nest + "/" if nest else "") in task.layout
    assert len(list(build(path=tmp_path / folder).items())) == 24


def test_parts_by_split(tmp_path):
    build_mme(tmp_path / "mme")
    assert {it.meta["category"] for it in build_task("mme:cognition", data_root=tmp_path).items()} == {"cognition"}
    assert [it.id for it in build_task("mme:OCR", data_root=tmp_path).items()] == ["OCR/0001/1", "OCR/0001/2"]
    perception = build_task("mme:perception", data_root=tmp_path)
    assert perception.split == "perception" and len(list(perception.items())) == 18
    with pytest.raises(DatasetNotFound, match=r"no folder of 'count' \(count\) under .*mme"):
        build_task("mme:count", data_root=tmp_path)
    with pytest.raises(ValueError, match="unknown split 'ocr'"):
        build_task("mme:ocr", data_root=tmp_path)


def test_layout_errors(tmp_path):
    root = build_mme(tmp_path / "mme")
    txt = root / mme_txt("position", "000000567886")
    good = txt.read_text()
    txt.write_text(good.replace("body Please answer yes or no.\t", "body Please answer yes or no. "))
    with pytest.raises(DatasetFormatError, match=r"position/000000567886.txt:2: expected 'question<TAB>Yes\|No' "):
        build(path=root)
    txt.write_text("000000567886.jpg\t" + good)
    with pytest.raises(DatasetFormatError, match=r"000000567886.txt:1: .*found 2 TABs \(image<TAB>question<TAB>"):
        build(path=root)
    txt.write_text(good.replace("\tNo", "\tMaybe"))
    with pytest.raises(DatasetFormatError, match=r"000000567886.txt:2: .*got answer 'Maybe'"):
        build(path=root)
    txt.write_text(good)
    shutil.rmtree(root / "artwork" / "images")
    with pytest.raises(
        DatasetNotFound, match=r"artwork/questions_answers_YN exists but its image folder .*artwork/images"
    ):
        build(path=root)
    with pytest.raises(DatasetNotFound, match=r"neither .*/mme nor .*/MME_Benchmark_release_version exists"):
        build(data_root=tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match=r"no subtask folder \(existence, count, .*MME_Benchmark/"):
        build(path=tmp_path / "empty")


def test_missing_image_is_an_item_error(tmp_path):
    root = build_mme(tmp_path)
    (root / "OCR" / "0001.jpg").unlink()
    task = build(path=root)
    assert task.describe()["images_missing"] == 2
    with pytest.raises(ImageError, match=r"OCR/0001.jpg"):
        task.load_image(next(it for it in task.items() if it.id == "OCR/0001/1"))


def _sample(item, pred: int, error: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "answer": item.answer, "meta": item.meta, "error": error, "pred": pred}


def official(results: dict[str, list[str]]) -> dict[str, Any]:
    """calculation.py's arithmetic on its input format (`image<TAB>question<TAB>GT<TAB>response` lines, an
    image's two questions adjacent), written out: per subtask acc, acc+ and score, and the two sums."""

    def parse(response: str) -> str:
        r = response.lower()
        if r in ("yes", "no"):
            return r
        return "yes" if "yes" in r[:4] else "no" if "no" in r[:4] else "other"

    out: dict[str, Any] = {}
    for task, lines in results.items():
        rows = [line.split("\t") for line in lines]
        right = [gt.lower() == parse(resp) for _, _, gt, resp in rows]
        pairs = [right[i : i + 2] for i in range(0, len(right), 2)]
        assert all(len(p) == 2 for p in pairs)
        acc, acc_plus = sum(right) / len(right), sum(all(p) for p in pairs) / len(pairs)
        out[task] = {"acc": acc, "acc_plus": acc_plus, "score": acc * 100 + acc_plus * 100}
    for name, group in (("perception", PERCEPTION), ("cognition", COGNITION)):
        out[name] = sum(out[t]["score"] for t in group if t in results)
    return out


RESPONSES = {0: "Yes", 1: "No", -1: "I cannot tell"}


def _official_input(items, preds) -> dict[str, list[str]]:
    results: dict[str, list[str]] = {}
    for it, p in zip(items, preds):
        gt = "Yes" if it.answer == 0 else "No"
        results.setdefault(it.meta["subtask"], []).append(
            f"{it.meta['image']}.jpg\t{it.question}\t{gt}\t{RESPONSES[p]}"
        )
    return results


def _flat(metrics: dict[str, Any]) -> dict[str, float]:
    """Values only: a mean's stderr may differ in the last bit with the summation order."""
    return {k: m.value for k, m in metrics.items()}


def test_scores_by_hand(tmp_path):
    task = build(path=build_mme(tmp_path))
    items = list(task.items())
    preds = [
        *(0, 1, 0, 0, 1, 0),  # existence: image 1 both right, image 2 one, image 3 none: acc 1/2, acc+ 1/3
        *(0, 1),  # position: 200
        *(1, 1),  # celebrity: acc 1/2, acc+ 0: 50
        *(-1, -1),  # scene: "other" twice: 0
        *(0, 1, 0, 1),  # artwork: 200
        *(0, 0),  # OCR: 50
        *(1, 0),  # commonsense_reasoning (No question first): 200
        *(0, 1, -1, 1),  # code_reasoning: acc 3/4, acc+ 1/2: 125
    ]
    samples = [_sample(it, p) for it, p in zip(items, preds)]
    m, bd = task.metrics(samples), task.breakdown(samples)
    assert set(m) == {"perception", "cognition", "acc"} and m["perception"].stderr is None
    assert bd["subtask_acc"]["existence"].value == 0.5
    assert bd["subtask_acc_plus"]["existence"].value == pytest.approx(1 / 3, abs=1e-12)
    assert bd["subtask_score"]["existence"].value == pytest.approx(250 / 3, abs=1e-9)
    assert bd["subtask_score"]["code_reasoning"].value == 125 and bd["subtask_score"]["scene"].value == 0
    assert m["perception"].value == pytest.approx(250 / 3 + 200 + 50 + 0 + 200 + 50, abs=1e-9)
    assert m["cognition"].value == 325
    assert m["acc"].value == pytest.approx(16 / 24, abs=1e-12)
    assert list(bd) == ["subtask_score", "subtask_acc", "subtask_acc_plus"]
    assert list(bd["subtask_score"]) == ["existence", "position", "celebrity", "scene", "artwork", "OCR"] + [
        "commonsense_reasoning",
        "code_reasoning",
    ]
    # paired by image stem: any sample order gives the same numbers
    shuffled = samples[:]
    random.Random(0).shuffle(shuffled)
    assert _flat(task.metrics(shuffled)) == pytest.approx(_flat(m), abs=1e-12)
    assert {g: _flat(v) for g, v in task.breakdown(shuffled).items()} == {g: _flat(v) for g, v in bd.items()}
    # an errored question leaves its image out of acc+ and itself out of acc
    errored = [_sample(items[1], 1, error="cannot read image") if k == 1 else s for k, s in enumerate(samples)]
    bd = task.breakdown(errored)
    assert bd["subtask_acc"]["existence"].value == 2 / 5 and bd["subtask_acc_plus"]["existence"].value == 0
    assert bd["subtask_score"]["existence"].value == pytest.approx(40, abs=1e-9)


def test_scores_equal_calculation_py(tmp_path):
    task = build(path=build_mme(tmp_path))
    items = list(task.items())
    rng = random.Random(5)
    for _ in range(25):
        preds = [rng.choice((0, 1, -1)) for _ in items]
        want = official(_official_input(items, preds))
        samples = [_sample(it, p) for it, p in zip(items, preds)]
        m, bd = task.metrics(samples), task.breakdown(samples)
        assert m["perception"].value == pytest.approx(want["perception"], abs=1e-9)
        assert m["cognition"].value == pytest.approx(want["cognition"], abs=1e-9)
        for sub in MME_ROWS:
            for key in ("acc", "acc_plus", "score"):
                assert bd[f"subtask_{key}"][sub].value == pytest.approx(want[sub][key], abs=1e-9)
        # generate mode: the same responses through the task's parser
        gen = [_sample(it, task.extract_answer(it, RESPONSES[p])) for it, p in zip(items, preds)]
        assert _flat(task.metrics(gen)) == _flat(m)


def test_official_parser_edge_cases():
    cases = {
        "yes": 0,
        "No": 1,
        "Yes.": 0,
        "No, it is not.": 1,
        "  yes\n": 0,  # stripped: LLaVA writes stripped answers
        "Not sure": 1,  # "no" inside the first 4 characters
        "nope": 1,
        "know": 1,
        "ayes": 0,
        "noyes": 1,  # "yes" is not within "noye"
        "I think yes": -1,  # beyond the first 4 characters: "other", counted wrong
        "There is no": -1,
        "Maybe": -1,
        "Y": -1,
        "": -1,
    }
    assert {t: parse_mme(t) for t in cases} == cases


def test_prompts(tmp_path):
    task = build(path=build_mme(tmp_path))
    typo = next(it for it in task.items() if it.question == TYPO)
    assert Mme.prompts is PROMPTS and task.generate_prompt(typo, "llava") == TYPO
    assert task.prompt(typo, "llava", "text").instruction == TYPO
    assert task.prompt(typo, "llava", "text").continuations == ("Yes", "No")
    assert task.prompt(typo, "minigptv2", "text").continuations == ("yes", "no")
    opts = task.prompt(typo, "llava", "options")
    assert opts.continuations == ("A", "B") and opts.instruction.startswith(TYPO + "\nA. Yes\nB. No\nAnswer with")


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_mme(tmp_path / "data" / "MME_Benchmark_release_version", nest="MME_Benchmark")
    rec, samples = eval_task("mme", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 4)
    assert rec["n"] == 4 and set(rec["metrics"]) == {"perception", "acc"}  # only existence in the first 4
    assert set(rec["breakdown"]) == {"subtask_score", "subtask_acc", "subtask_acc_plus"}
    ok = [s["pred"] == s["answer"] for s in samples]
    acc, acc_plus = sum(ok) / 4, (all(ok[:2]) + all(ok[2:])) / 2
    assert rec["breakdown"]["subtask_acc_plus"]["existence"]["value"] == acc_plus
    assert rec["metrics"]["perception"]["value"] == pytest.approx(acc * 100 + acc_plus * 100, abs=1e-9)
    assert rec["metrics"]["acc"]["value"] == acc

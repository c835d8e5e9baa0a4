"""ScienceQA tests: the lupantech release layout (problems.json + pid_splits.json + images/<split>/<pid>/image.png),
the IMG subset, splits and roots, located errors, the prompt and one CLI run. Accuracy and its breakdowns are
checked by hand and against tools/evaluate_acc.py's definitions run on problems.json as written."""

from __future__ import annotations

import json
import random
import shutil
from typing import Any

import pytest
from PIL import Image

from harness.tasks.prompts import MC_SUFFIX
from harness.tasks.registry import build_task
from harness.tasks.scienceqa import PROMPTS, ScienceQA, build
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures import write_image
from tests.harness.tasks.fixtures_mc_bench import SQA_SPLITS, SQA_TEST_IMG, build_scienceqa


def test_release_layout(tmp_path):
    task = build(data_root=build_scienceqa(tmp_path / "scienceqa").parent)
    items = list(task.items())
    assert [it.id for it in items] == SQA_TEST_IMG  # pid_splits.json's order, no-image problems left out
    assert task.split == "test" and task.describe()["dropped"] == {"no_image": 2}
    assert task.describe()["images_missing"] == 0 and "problems.json" in task.layout
    first = items[0]
    assert first.question == "Which of these states is farthest north?" and first.answer == 0
    assert first.choices == ("West Virginia", "Louisiana", "Arizona", "Oklahoma")
    assert first.meta == {
        "subject": "social science",
        "grade": "grade2",
        "has_hint": False,
        "has_image": True,
        "topic": "geography",
    }
    by_id = {it.id: it for it in items}
    assert by_id["7"].question.startswith("Context: The passage below describes an experiment.") and by_id["7"].answer
    assert by_id["7"].question.endswith(
        "45° angle.\nIdentify the question that Tom and Justin's experiment can best answer."
    )
    assert len(by_id["31"].choices) == 5 and by_id["31"].meta["has_hint"] and by_id["18"].meta["grade"] == "grade1"
    assert by_id["31"].image == str(tmp_path / "scienceqa" / "images" / "test" / "31" / "image.png")
    with Image.open(write_image(tmp_path / "want.png", 1531)) as want:
        assert task.load_image(by_id["31"]).tobytes() == want.convert("RGB").tobytes()
    assert task.where(by_id["31"]).endswith("problems.json pid '31'")


def test_splits(tmp_path):
    build_scienceqa(tmp_path / "scienceqa")
    val = build_task("scienceqa:val", data_root=tmp_path)
    items = list(val.items())
    assert [it.id for it in items] == SQA_SPLITS["val"] and val.dropped == {}
    assert items[1].image.endswith("images/val/9/image.png") and val.describe()["images_missing"] == 0
    assert items[1].question == "Which ocean is highlighted?" and not items[1].meta["has_hint"]  # hint null
    mini = build_task("scienceqa:minitest", data_root=tmp_path)
    assert [it.id for it in mini.items()] == ["7", "31"] and mini.dropped == {"no_image": 1}
    assert next(mini.items()).image.endswith("images/test/7/image.png")  # the problem's own split folder
    with pytest.raises(DatasetFormatError, match=r"scienceqa: no items in split 'train'"):
        build_task("scienceqa:train", data_root=tmp_path)
    with pytest.raises(DatasetFormatError, match=r"split 'dev' is not in .*pid_splits.json \(splits: \['minitest', "):
        build_task("scienceqa:dev", data_root=tmp_path)


@pytest.mark.parametrize(("nest", "images_at_root"), [("data/scienceqa", False), ("data/scienceqa", True)])
def test_repository_layout_and_file_form(tmp_path, nest, images_at_root):
    root = build_scienceqa(tmp_path / "ScienceQA", nest=nest, images_at_root=images_at_root)
    task = build(path=root)
    assert [it.id for it in task.items()] == SQA_TEST_IMG and task.describe()["images_missing"] == 0
    assert "data/scienceqa/problems.json" in task.layout
    # the file form finds images beside the file or, in the repository layout, beside data/
    by_file = build_task(f"scienceqa={root / nest / 'problems.json'}")
    assert [it.id for it in by_file.items()] == SQA_TEST_IMG and by_file.describe()["images_missing"] == 0
    assert len(list(build_task(f"scienceqa:val={root}").items())) == 2


def test_missing_files(tmp_path):
    root = build_scienceqa(tmp_path / "scienceqa")
    shutil.rmtree(root / "images")
    with pytest.raises(DatasetNotFound, match=r"image folder .*scienceqa/images not found .*download.sh"):
        build(path=root)
    (root / "pid_splits.json").unlink()
    with pytest.raises(DatasetNotFound, match=r"scienceqa/pid_splits.json not found \(it lists each split's pids\)"):
        build(path=root)
    (root / "problems.json").unlink()
    with pytest.raises(DatasetNotFound, match=r"problems.json not found in .*scienceqa or .*data/scienceqa"):
        build(path=root)
    with pytest.raises(DatasetNotFound, match="does not exist"):
        build(data_root=tmp_path / "elsewhere")


@pytest.mark.parametrize(
    ("pid", "edit", "match"),
    [
        ("7", {"grade": None}, r"pid '7': missing \['grade'\]"),
        ("4", {"choices": ["a", "b", "c", "d", "e", "f"]}, r"pid '4': 'choices' must be a list of 2 to 5 strings"),
        ("4", {"choices": ["Ohio", 3]}, r"pid '4': 'choices' must be strings"),
        ("18", {"answer": 3}, r"pid '18': 'answer' 3 is out of range for 3 choices"),
        ("18", {"answer": "first"}, r"pid '18': 'answer' must be an integer, got 'first'"),
        ("22", {"subject": "mathematics"}, r"pid '22': 'subject' 'mathematics' is not one of"),
        ("31", {"grade": "grade13"}, r"pid '31': 'grade' must be grade1..grade12, got 'grade13'"),
        ("31", {"grade": "kindergarten"}, r"pid '31': 'grade' must be grade1..grade12"),
    ],
)
def test_bad_problems_name_file_and_pid(tmp_path, pid, edit, match):
    root = build_scienceqa(tmp_path)
    problems = json.loads((root / "problems.json").read_text())
    for key, value in edit.items():
        problems[pid].pop(key) if value is None else problems[pid].__setitem__(key, value)
    (root / "problems.json").write_text(json.dumps(problems))
    with pytest.raises(DatasetFormatError, match=r"problems.json " + match):
        build(path=root)


def test_bad_splits_file(tmp_path):
    root = build_scienceqa(tmp_path)
    (root / "pid_splits.json").write_text(json.dumps({**SQA_SPLITS, "test": ["4", "99"]}))
    with pytest.raises(DatasetFormatError, match=r"problems.json pid '99': listed in .*pid_splits.json \(test\) but"):
        build(path=root)
    (root / "pid_splits.json").write_text(json.dumps({**SQA_SPLITS, "test": "4 7 18"}))
    with pytest.raises(DatasetFormatError, match=r"pid_splits.json: 'test' must be a list of pids"):
        build(path=root)
    (root / "pid_splits.json").write_text('{"test": ["4", ')
    with pytest.raises(DatasetFormatError, match=r"pid_splits.json: not valid JSON"):
        build(path=root)


def _sample(item, pred: int, error: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "answer": item.answer, "meta": item.meta, "error": error, "pred": pred}


def _values(bd: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {g: {k: m.value for k, m in d.items()} for g, d in bd.items()}


def test_metrics_by_hand(tmp_path):
    task = build(path=build_scienceqa(tmp_path))
    items = {it.id: it for it in task.items()}
    wrong = {"7", "18"}
    samples = [_sample(it, (it.answer + (i in wrong)) % len(it.choices)) for i, it in items.items()]
    assert task.metrics(samples)["acc"].value == pytest.approx(3 / 5, abs=1e-12)
    bd = _values(task.breakdown(samples))
    assert list(bd) == ["subject", "context", "grade", "topic"]
    assert bd["subject"] == {"LAN": 0.0, "NAT": 0.5, "SOC": 1.0}
    assert bd["context"] == pytest.approx({"IMG": 0.6, "TXT": 2 / 3})  # all have images: no NO, TXT within IMG
    assert bd["grade"] == pytest.approx({"G1-6": 2 / 3, "G7-12": 0.5})
    assert bd["topic"] == {"biology": 1.0, "geography": 1.0, "science-and-engineering-practices": 0.0} | {
        "vocabulary": 0.0
    }
    errored = [_sample(items["31"], 0, "cannot read image") if s["id"] == "31" else s for s in samples]
    bd = _values(task.breakdown(errored))
    assert task.metrics(errored)["acc"].value == 0.5 and bd["subject"]["SOC"] == 1.0 and bd["grade"]["G7-12"] == 0.0
    assert bd["context"] == pytest.approx({"IMG": 0.5, "TXT": 0.5})


def evaluate_acc(problems: dict[str, Any], preds: dict[str, int]) -> dict[str, float]:
    """tools/evaluate_acc.py's get_scores, written out (as fractions, not "%.2f" percentages) on the problems
    predicted: true_false = (answer == pred); has_text = bool(hint), has_image = bool(image), no_context = neither;
    grades 1-6 and 7-12 by their names. Empty groups are left out (the script would divide by zero)."""
    rows = [(problems[pid], problems[pid]["answer"] == pred) for pid, pred in preds.items()]
    groups = {
        "acc_natural": lambda p: p["subject"] == "natural science",
        "acc_social": lambda p: p["subject"] == "social science",
        "acc_language": lambda p: p["subject"] == "language science",
        "acc_has_text": lambda p: bool(p["hint"]),
        "acc_has_image": lambda p: bool(p["image"]),
        "acc_no_context": lambda p: not p["hint"] and not p["image"],
        "acc_grade_1_6": lambda p: p["grade"] in [f"grade{g}" for g in range(1, 7)],
        "acc_grade_7_12": lambda p: p["grade"] in [f"grade{g}" for g in range(7, 13)],
    }
    out = {"acc_average": sum(tf for _, tf in rows) / len(rows)}
    for name, keep in groups.items():
        hits = [tf for p, tf in rows if keep(p)]
        if hits:
            out[name] = sum(hits) / len(hits)
    return out


OURS = {"acc_natural": ("subject", "NAT"), "acc_social": ("subject", "SOC"), "acc_language": ("subject", "LAN")}
OURS |= {"acc_has_text": ("context", "TXT"), "acc_has_image": ("context", "IMG"), "acc_no_context": ("context", "NO")}
OURS |= {"acc_grade_1_6": ("grade", "G1-6"), "acc_grade_7_12": ("grade", "G7-12")}


@pytest.mark.parametrize("split", ["test", "val", "minitest"])
def test_metrics_equal_evaluate_acc(tmp_path, split):
    root = build_scienceqa(tmp_path)
    problems = json.loads((root / "problems.json").read_text())
    task = build(path=root, split=split)
    items = list(task.items())
    rng = random.Random(len(split))
    for _ in range(20):
        preds = [rng.randrange(len(it.choices)) for it in items]
        want = evaluate_acc(problems, {it.id: p for it, p in zip(items, preds)})
        samples = [_sample(it, p) for it, p in zip(items, preds)]
        bd = task.breakdown(samples)
        got = {name: bd[g][k].value for name, (g, k) in OURS.items() if k in bd[g]}
        assert task.metrics(samples)["acc"].value == pytest.approx(want.pop("acc_average"), abs=1e-12)
        assert got == pytest.approx(want, abs=1e-12) and "acc_no_context" not in want


def test_prompts(tmp_path):
    task = build(path=build_scienceqa(tmp_path))
    assert ScienceQA.prompts is PROMPTS
    it = {i.id: i for i in task.items()}["31"]
    opts = task.prompt(it, "llava", "options")
    head = "Context: Figure: Nevada.\nWhat is the capital of Nevada?"
    lines = "A. Carson City\nB. Reno\nC. Las Vegas\nD. Salt Lake City\nE. Sacramento\n"
    assert opts.instruction == f"{head}\n{lines}{MC_SUFFIX}" and opts.continuations == ("A", "B", "C", "D", "E")
    assert task.generate_prompt(it, "minigptv2") == "[vqa] " + opts.instruction
    text = task.prompt(it, "llava", "text")
    assert text.instruction == head and text.continuations == it.choices
    no_hint = task.prompt({i.id: i for i in task.items()}["4"], "llava", "options").instruction
    assert no_hint.startswith("Which of these states is farthest north?\nA. West Virginia\n")


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_scienceqa(tmp_path / "data" / "scienceqa")
    rec, samples = eval_task("scienceqa", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 3)
    assert rec["n"] == 3 and rec["describe"]["dropped"] == {"no_image": 2}
    assert set(rec["breakdown"]) == {"subject", "context", "grade", "topic"}
    assert [s["id"] for s in samples] == SQA_TEST_IMG[:3]  # 4 (SOC), 7 (NAT, hint), 18 (LAN)
    ok = {s["id"]: s["pred"] == s["answer"] for s in samples}
    assert rec["metrics"]["acc"]["value"] == sum(ok.values()) / 3
    assert {k: v["value"] for k, v in rec["breakdown"]["subject"].items()} == {
        "LAN": ok["18"],
        "NAT": ok["7"],
        "SOC": ok["4"],
    }
    assert rec["breakdown"]["context"]["TXT"]["value"] == ok["7"]
    assert rec["breakdown"]["grade"]["G7-12"]["value"] == ok["7"]

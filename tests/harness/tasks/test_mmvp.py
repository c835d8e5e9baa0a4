"""MMVP: the release layout, pairs, LoRSU's halves, the disputed labels, accuracy and pair accuracy by hand, LoRSU's
generation rule on its own edge cases and the fixed rule, located errors, and `harness eval` in both modes."""

from __future__ import annotations

import math
import shutil

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.base import ImageError
from harness.tasks.mmvp import CORRECTIONS, PROMPTS, Mmvp, build
from harness.tasks.registry import available, build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures_mmvp import ROWS, build_mmvp, csv_text, full_rows, pairs_both_right, sample

IDS = [str(r[0]) for r in ROWS]


def test_release_rows_and_pairs(tmp_path):
    task = build(path=build_mmvp(tmp_path / "mmvp"))
    items = list(task.items())
    assert [it.id for it in items] == IDS
    assert [it.question for it in items] == [r[1] for r in ROWS]
    assert items[0].choices == ("Open", "Closed") and items[6].choices == ("Yes", "No")
    assert items[-1].choices[1] == "Most of the background is dark and cloudy"
    assert [it.answer for it in items] == [0 if r[3] == "(a)" else 1 for r in ROWS]
    assert [it.meta["pair"] for it in items] == [1, 1, 2, 2, 3, 3, 4, 4, 50, 50, 140, 140, 150, 150]
    assert items[0].image == str(tmp_path / "mmvp" / "MMVP Images" / "1.jpg")
    d = task.describe()
    assert d["items"] == 14 and d["pairs"] == 7 and d["images_missing"] == 0 and d["split"] == "test"
    assert d["labels"] == "release" and d["label_changes"] == {} and task.load_image(items[0]).mode == "RGB"


def test_full_release_counts_and_lorsu_halves(tmp_path):
    """300 rows: 150 pairs; the halves are LoRSU's iloc rows (eval: 4k+2, 4k+3; tuning: 4k, 4k+1), 150 each."""
    root = build_mmvp(tmp_path / "mmvp", rows=full_rows())
    assert build(path=root).describe()["items"] == 300 and build(path=root).describe()["pairs"] == 150
    lorsu_eval = {str(j + 1) for i in range(2, 300, 4) for j in (i, i + 1)}
    lorsu_tune = {str(j + 1) for i in range(0, 300, 4) for j in (i, i + 1)}
    test = [it.id for it in build_task("mmvp:lorsu_test", data_root=tmp_path).items()]
    train = [it.id for it in build_task("mmvp:lorsu_train", data_root=tmp_path).items()]
    assert set(test) == lorsu_eval and set(train) == lorsu_tune and len(test) == len(train) == 150
    assert test[:4] == ["3", "4", "7", "8"] and train[:4] == ["1", "2", "5", "6"]


def test_fixture_halves_and_breakdown_groups(tmp_path):
    build_mmvp(tmp_path / "mmvp")
    train = [it.id for it in build_task("mmvp:lorsu_train", data_root=tmp_path).items()]
    assert train == ["1", "2", "5", "6"]
    test = build_task("mmvp:lorsu_test", data_root=tmp_path)
    assert [it.id for it in test.items()] == ["3", "4", "7", "8", "99", "100", "279", "280", "299", "300"]
    assert test.split == "lorsu_test" and test.describe()["pairs"] == 5


def test_disputed_labels_release_by_default_corrected_on_request(tmp_path):
    build_mmvp(tmp_path / "mmvp")
    release = {it.id: it.answer for it in build_task("mmvp", data_root=tmp_path).items()}
    assert [release[i] for i in ("99", "100", "279", "280")] == [0, 1, 0, 1]  # as released
    task = build_task("mmvp:corrected/test", data_root=tmp_path)
    fixed = {it.id: it.answer for it in task.items()}
    assert [fixed[i] for i in ("99", "100", "279", "280")] == [1, 0, 1, 0]
    assert {k: v for k, v in fixed.items() if int(k) not in CORRECTIONS} == {
        k: v for k, v in release.items() if int(k) not in CORRECTIONS
    }
    d = task.describe()
    assert d["labels"] == "corrected" and d["split"] == "corrected/test"
    assert d["label_changes"] == {
        "99": ["(a)", "(b)"],
        "100": ["(b)", "(a)"],
        "279": ["(a)", "(b)"],
        "280": ["(b)", "(a)"],
    }
    assert [it.id for it in build_task("mmvp:corrected/lorsu_train", data_root=tmp_path).items()] == [
        "1",
        "2",
        "5",
        "6",
    ]


@pytest.mark.parametrize("folder", ["MMVP-Images", "MMVP Imgaes"])
def test_other_image_folder_names_and_roots(tmp_path, folder):
    root = build_mmvp(tmp_path / "data" / "MMVP", image_dir=folder)
    task = build(path=tmp_path / "data")  # LoRSU's dataroot holding MMVP/
    assert task.root == root and task.describe()["images_missing"] == 0 and folder in task.layout
    assert [it.id for it in build(path=root / "Questions.csv").items()] == IDS


def test_determinism_ids_and_order_independent_of_row_order(tmp_path):
    a = list(build(path=build_mmvp(tmp_path / "a")).items())
    assert a == list(build(path=tmp_path / "a").items())
    root = build_mmvp(tmp_path / "b", rows=ROWS[::-1])
    assert [it.id for it in build(path=root).items()] == IDS
    assert [(it.question, it.answer) for it in build(path=root).items()] == [(it.question, it.answer) for it in a]


def test_accuracy_and_pair_accuracy_by_hand(tmp_path):
    task = build(path=build_mmvp(tmp_path / "mmvp"))
    items = {it.id: it for it in task.items()}
    right = {"1": 1, "2": 1, "3": 1, "4": 0, "5": 0, "6": 0, "7": 1, "8": 1, "99": 1, "279": 1, "280": 1, "299": 1}
    samples = []
    for i, ok in right.items():
        it = items[i]
        pred = it.answer if ok else 1 - it.answer
        samples.append(sample(it, pred, pred_norm=1 - it.answer if i == "1" else it.answer))
    samples.append(sample(items["100"], items["100"].answer, error="image not found"))  # pair 50 not counted
    # "300" is absent (e.g. --limit): pair 150 not counted either
    m = task.metrics(samples)
    assert m["acc"].value == 9 / 12
    assert m["acc"].stderr == pytest.approx(math.sqrt((9 * 0.25**2 + 3 * 0.75**2) / 11 / 12))
    # counted pairs 1, 2, 3, 4, 140: both right in 1, 4, 140
    assert m["pair_acc"].value == 3 / 5
    assert m["pair_acc"].stderr == pytest.approx(math.sqrt((3 * 0.4**2 + 2 * 0.6**2) / 4 / 5))
    assert m["acc_norm"].value == 11 / 12 and m["pair_acc_norm"].value == 4 / 5
    assert set(m) == {"acc", "acc_norm", "pair_acc", "pair_acc_norm"}
    half = task.breakdown(samples)["lorsu_half"]
    assert half["lorsu_train"].value == 2 / 4 and half["lorsu_test"].value == 7 / 8


# LoRSU's eval_mmvpvqa rule on the cases its substring tests create: (generation, choice it counts)
def test_prompts(tmp_path):
    task = build(path=build_mmvp(tmp_path / "mmvp"))
    it = next(task.items())
    q = "Are the butterfly's wings closer to being open or closed?"
    lorsu = f"{q}\n(a) Open (b) Closed\nAnswer with the option's letter from the given choices directly."
    assert task.generate_prompt(it, "llava") == lorsu
    assert task.generate_prompt(it, "minigptv2") == "[vqa] " + lorsu
    snap = PROMPTS.snapshot(it)  # what the prompt snapshot test stores is what the task renders
    assert snap["llava/generate"] == lorsu and snap["blip2/generate"] == f"Question: {lorsu} Answer:"
    opts = task.prompt(it, "llava", "options")
    assert opts.continuations == ("A", "B") and opts.instruction.startswith(f"{q}\nA. Open\nB. Closed\n")
    text = task.prompt(it, "minigptv2", "text")
    assert text.instruction == f"[vqa] {q}" and text.continuations == ("Open", "Closed")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("3,Open or closed?,(a) Open (b) Closed", r"Questions.csv:3: short row, lacks \['Correct Answer'\]"),
        ("3,Open or closed?,Open / Closed,(a)", r"Questions.csv:3: 'Options' must read '\(a\) <text> \(b\) <text>'"),
        ("3,Open or closed?,(a) Open (b),(a)", r"Questions.csv:3: 'Options' must read"),
        ("3,Open or closed?,(a) Open (b) Closed,(c)", r"Questions.csv:3: 'Correct Answer' must be \(a\) or \(b\)"),
        ("3,Open or closed?,(a) Open (b) Closed,A", r"Questions.csv:3: 'Correct Answer' must be"),
        ("x,Open or closed?,(a) Open (b) Closed,(a)", r"Questions.csv:3: 'Index' must be an integer"),
        ("0,Open or closed?,(a) Open (b) Closed,(a)", r"Questions.csv:3: 'Index' must be 1 or more"),
        ("3,,(a) Open (b) Closed,(a)", r"Questions.csv:3: empty 'Question'"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    root = build_mmvp(tmp_path / "mmvp", rows=ROWS[:1])
    (root / "Questions.csv").write_text(csv_text(ROWS[:1]) + row + "\n")
    with pytest.raises(DatasetFormatError, match=message):
        build(path=root)


def test_layout_errors(tmp_path):
    with pytest.raises(DatasetNotFound, match="Questions.csv not found. Expected layout"):
        build(path=tmp_path)
    root = build_mmvp(tmp_path / "mmvp")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        build(path=root, split="dev")
    with pytest.raises(ValueError, match="unknown labels 'fixed'"):
        build(path=root, split="fixed/test")
    (root / "Questions.csv").write_text(csv_text(ROWS[:2], header=("Index", "Question", "Options")))
    with pytest.raises(DatasetFormatError, match=r"lacks \['Correct Answer'\]"):
        build(path=root)
    (root / "Questions.csv").write_text(csv_text([ROWS[0], ROWS[0]]))
    with pytest.raises(DatasetFormatError, match="duplicate item ids"):
        build(path=root)
    shutil.rmtree(root / "MMVP Images")
    with pytest.raises(DatasetNotFound, match="no image folder"):
        build(path=root)


def test_missing_image_is_counted_and_named(tmp_path):
    task = build(path=build_mmvp(tmp_path / "mmvp", missing=(4,)))
    assert task.describe()["images_missing"] == 1
    it = [x for x in task.items() if x.id == "4"][0]
    with pytest.raises(ImageError, match=r"Questions.csv:5 \(Index 4\): image not found: .*MMVP Images/4.jpg"):
        task.load_image(it)


def test_cli_bad_row_is_one_line(tiny_llava_dir, tmp_path):
    root = build_mmvp(tmp_path / "data" / "mmvp", rows=ROWS[:2])
    (root / "Questions.csv").write_text(csv_text(ROWS[:2]) + "3,Q?,(a) A (b) B,(z)\n")
    args = ["eval", "--tasks", "mmvp", "--data-root", str(tmp_path / "data"), "--model", str(tiny_llava_dir)]
    res = CliRunner().invoke(app, [*args, "--device", "cpu", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "Questions.csv:4: 'Correct Answer' must be (a) or (b)" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "run" / "config.json").exists()


def test_cli_end_to_end_likelihood(tiny_llava_dir, tmp_path):
    build_mmvp(tmp_path / "data" / "mmvp")
    rec, samples = eval_task("mmvp", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 6)
    assert rec["n"] == 6 and [s["id"] for s in samples] == IDS[:6]
    assert set(rec["metrics"]) == {"acc", "acc_norm", "pair_acc", "pair_acc_norm"}
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 6
    assert rec["metrics"]["pair_acc"]["value"] == pairs_both_right({s["id"]: s["pred"] == s["answer"] for s in samples})
    assert set(rec["breakdown"]["lorsu_half"]) == {"lorsu_train", "lorsu_test"}


def test_registered_and_built_by_spec(tmp_path):
    assert available()["mmvp"] is build
    root = build_mmvp(tmp_path / "mine")
    task = build_task(f"mmvp:lorsu_test={root}", data_root=tmp_path / "elsewhere")
    assert isinstance(task, Mmvp) and task.root == root and task.split == "lorsu_test"

"""SEED-Bench tests: the v1 release layout (SEED-Bench.json + SEED-Bench-image/), video questions dropped, the
hash order, file forms, located errors, the prompt and one CLI run. Accuracy overall and per dimension is checked
by hand and against SEED-Bench's eval.py arithmetic (per question_type_id counts) on the JSON as written."""

from __future__ import annotations

import json
import random
import shutil
from typing import Any

import pytest
from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.base import ImageError
from harness.tasks.prompts import MC_SUFFIX
from harness.tasks.registry import build_task
from harness.tasks.seed_bench import PROMPTS, SeedBench, build
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, hash_order
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures import write_image
from tests.harness.tasks.fixtures_mc_bench import SEED_IMAGE_IDS, SEED_ROWS, SEED_TYPES, build_seed_bench


def _load(root) -> dict[str, Any]:
    return json.loads((root / "SEED-Bench.json").read_text())


def _save(root, data: dict[str, Any]) -> None:
    (root / "SEED-Bench.json").write_text(json.dumps(data))


def test_release_layout(tmp_path):
    task = build(data_root=build_seed_bench(tmp_path / "seed_bench").parent)
    items = list(task.items())
    ids = [it.id for it in items]
    assert sorted(ids) == sorted(SEED_IMAGE_IDS) and "1600123" not in ids  # the video question is left out
    assert ids == hash_order(SEED_IMAGE_IDS) and ids != SEED_IMAGE_IDS  # mixed, not file order
    d = task.describe()
    assert d["dropped"] == {"video": 1} and d["items"] == 8 and d["images_missing"] == 0 and d["split"] == "image"
    towels = next(it for it in items if it.id == "101669")
    assert towels.question == "How many towels are in the image?" and towels.answer == 0
    assert towels.choices == ("One", "Two", "Three", "Four")
    assert towels.meta == {"dimension": "Instances Counting", "question_type_id": 5, "data_id": "1454426_2591111986"}
    assert towels.image == str(tmp_path / "seed_bench" / "SEED-Bench-image" / "1454426_2591111986.jpg")
    cow = next(it for it in items if it.id == "40077")
    assert cow.answer == 3 and cow.meta["dimension"] == "Instance Identity" and cow.image.endswith("3211847460.png")
    with Image.open(write_image(tmp_path / "want.png", 1402)) as want:  # the third image written
        assert task.load_image(cow).tobytes() == want.convert("RGB").tobytes()
    assert task.where(cow).endswith("SEED-Bench.json question_id '40077'")


def test_order_independent_of_file_order(tmp_path):
    root = build_seed_bench(tmp_path)
    a = [it.id for it in build(path=root).items()]
    data = _load(root)
    data["questions"].reverse()
    _save(root, data)
    assert [it.id for it in build(path=root).items()] == a


def test_image_names_and_missing_images(tmp_path):
    root = build_seed_bench(tmp_path)
    data = _load(root)
    data["questions"][7]["data_id"] = "9990001_1.jpg"  # a data_id that already names the file
    _save(root, data)
    write_image(root / "SEED-Bench-image" / "9990001_1.jpg", 5)
    (root / "SEED-Bench-image" / "1990343_3211847460.png").unlink()
    task = build(path=root)
    by_id = {it.id: it for it in task.items()}
    assert by_id["90004"].image == str(root / "SEED-Bench-image" / "9990001_1.jpg")
    assert task.describe()["images_missing"] == 2  # both questions on the removed image
    assert by_id["40077"].image == str(root / "SEED-Bench-image" / "1990343_3211847460")
    with pytest.raises(ImageError, match=r"image not found: .*1990343_3211847460 \(also tried .jpg, .png"):
        task.load_image(by_id["57211"])


def test_splits_and_file_forms(tmp_path):
    root = build_seed_bench(tmp_path / "seed_bench")
    assert len(list(build_task("seed_bench:image", data_root=tmp_path).items())) == 8
    with pytest.raises(InvalidInput, match=r"unknown split 'video'.*video is not scored"):
        build_task("seed_bench:video", data_root=tmp_path)
    data = _load(root)
    data["questions"] = data["questions"][:3]
    (root / "SEED-Bench-2-slim.json").write_text(json.dumps(data))
    task = build_task(f"seed_bench={root / 'SEED-Bench-2-slim.json'}")
    assert sorted(it.id for it in task.items()) == ["101669", "101670", "2130"] and "SEED-Bench-2-slim" in task.layout
    assert len(list(build_task("seed_bench", data={"seed_bench": root}).items())) == 8
    shutil.rmtree(root / "SEED-Bench-image")
    with pytest.raises(DatasetNotFound, match=r"image folder .*SEED-Bench-image not found"):
        build(path=root)
    (root / "SEED-Bench.json").unlink()
    with pytest.raises(DatasetNotFound, match=r"seed_bench/SEED-Bench.json not found. Expected layout"):
        build(path=root)
    with pytest.raises(DatasetNotFound, match="does not exist"):
        build_task("seed_bench", data_root=tmp_path / "elsewhere")


@pytest.mark.parametrize(
    ("k", "edit", "match"),
    [
        (
            0,
            {"answer": "E"},
            r"SEED-Bench.json questions\[0\] \(question_id 101669\): 'answer' must be one of A, B, C, D, got 'E'",
        ),
        (2, {"choice_c": None}, r"SEED-Bench.json questions\[2\]: missing \['choice_c'\]"),
        (
            3,
            {"choice_b": " "},
            r"SEED-Bench.json questions\[3\] \(question_id 2131\): 'question' and choice_a..choice_d must be",
        ),
        (
            4,
            {"question_type_id": 13},
            r"SEED-Bench.json questions\[4\] .*question_type_id 13 is not in the file's question_type map",
        ),
        (
            5,
            {"question_type_id": "five"},
            r"SEED-Bench.json questions\[5\] .*'question_type_id' must be an integer, got 'five'",
        ),
        (6, {"data_type": None}, r"SEED-Bench.json questions\[6\]: missing 'data_type'"),
        (
            7,
            {"question_id": None},
            r"SEED-Bench.json questions\[7\]: 'question_id' must be a string or an integer, got None",
        ),
        (1, {"question_id": "101669"}, r"duplicate item ids .*101669"),
    ],
)
def test_bad_questions_name_file_and_key(tmp_path, k, edit, match):
    root = build_seed_bench(tmp_path)
    data = _load(root)
    q = data["questions"][k]
    for key, value in edit.items():
        if value is None and key != "question_id":
            del q[key]
        else:
            q[key] = value
    _save(root, data)
    with pytest.raises(DatasetFormatError, match=match):
        build(path=root)


def test_bad_files(tmp_path):
    root = build_seed_bench(tmp_path)
    _save(root, {"questions": {}, "question_type": SEED_TYPES})
    with pytest.raises(DatasetFormatError, match=r"SEED-Bench.json: expected the keys 'questions' \(a list\)"):
        build(path=root)
    _save(root, {"questions": ["How many towels?"], "question_type": SEED_TYPES})
    with pytest.raises(DatasetFormatError, match=r"SEED-Bench.json questions\[0\]: expected an object, got str"):
        build(path=root)
    (root / "SEED-Bench.json").write_text('{"questions": [')
    with pytest.raises(DatasetFormatError, match=r"SEED-Bench.json: not valid JSON .*truncated"):
        build(path=root)


def _sample(item, pred: int, error: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "answer": item.answer, "meta": item.meta, "error": error, "pred": pred}


def test_metrics_by_hand(tmp_path):
    task = build(path=build_seed_bench(tmp_path))
    items = {it.id: it for it in task.items()}
    wrong = {"57211", "2131", "40077"}
    samples = [_sample(it, (it.answer + (i in wrong)) % 4) for i, it in items.items()]
    assert task.metrics(samples)["acc"].value == 5 / 8
    bd = task.breakdown(samples)
    assert list(bd) == ["dimension"]
    assert {k: v.value for k, v in bd["dimension"].items()} == {
        "Scene Understanding": 0.5,
        "Instance Identity": 0.0,
        "Instance Attributes": 1.0,
        "Instances Counting": 0.5,
        "Spatial Relation": 1.0,
        "Text Understanding": 1.0,
    }
    assert list(bd["dimension"])[:2] == ["Scene Understanding", "Instance Identity"]  # question_type_id order
    errored = [_sample(items[s["id"]], s["pred"], "bad image") if s["id"] == "101669" else s for s in samples]
    assert task.metrics(errored)["acc"].value == pytest.approx(4 / 7, abs=1e-12)
    assert task.breakdown(errored)["dimension"]["Instances Counting"].value == 0.0


def seed_eval(questions: list[dict[str, Any]], letters: dict[str, str]) -> dict[str, float]:
    """SEED-Bench eval.py's counts, written out: per question_type_id correct/total over the answered questions,
    and the total accuracy over all of them."""
    total: dict[int, int] = {}
    right: dict[int, int] = {}
    for q in questions:
        if q["question_id"] in letters:
            t = q["question_type_id"]
            total[t] = total.get(t, 0) + 1
            right[t] = right.get(t, 0) + (letters[q["question_id"]] == q["answer"])
    names = {v: k for k, v in SEED_TYPES.items()}
    return {"total": sum(right.values()) / sum(total.values()), **{names[t]: right[t] / total[t] for t in total}}


def test_metrics_equal_seed_eval(tmp_path):
    root = build_seed_bench(tmp_path)
    questions = _load(root)["questions"]
    task = build(path=root)
    items = list(task.items())
    rng = random.Random(11)
    for _ in range(30):
        preds = [rng.randrange(4) for _ in items]
        want = seed_eval(questions, {it.id: "ABCD"[p] for it, p in zip(items, preds)})
        samples = [_sample(it, p) for it, p in zip(items, preds)]
        assert task.metrics(samples)["acc"].value == pytest.approx(want.pop("total"), abs=1e-12)
        assert {k: v.value for k, v in task.breakdown(samples)["dimension"].items()} == pytest.approx(want)


def test_prompts(tmp_path):
    task = build(path=build_seed_bench(tmp_path))
    assert SeedBench.prompts is PROMPTS
    it = next(it for it in task.items() if it.id == SEED_ROWS[0][0])
    opts = task.prompt(it, "llava", "options")
    want = "How many towels are in the image?\nA. One\nB. Two\nC. Three\nD. Four\n" + MC_SUFFIX
    assert opts.instruction == want and opts.continuations == ("A", "B", "C", "D")
    assert task.generate_prompt(it, "minigptv2") == "[vqa] " + want
    text = task.prompt(it, "llava", "text")
    assert text.instruction == "How many towels are in the image?" and text.continuations == it.choices


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_seed_bench(tmp_path / "data" / "seed_bench")
    rec, samples = eval_task("seed_bench", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 4)
    assert rec["n"] == 4 and "acc" in rec["metrics"] and rec["describe"]["dropped"] == {"video": 1}
    assert [s["id"] for s in samples] == hash_order(SEED_IMAGE_IDS)[:4]
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 4
    dims: dict[str, list[bool]] = {}
    for s in samples:
        dims.setdefault(s["meta"]["dimension"], []).append(s["pred"] == s["answer"])
    assert {k: v["value"] for k, v in rec["breakdown"]["dimension"].items()} == {
        k: sum(v) / len(v) for k, v in dims.items()
    }

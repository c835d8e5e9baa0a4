"""VisOnlyQA: the HF parquet layout, single-answer items in the release's category order, LoRSU's prompt and its
upper-cased letter rule, accuracy per split and category, bad input, and `harness eval` on the toy LLaVA."""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import InvalidInput
from harness.tasks.base import ImageError
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from harness.tasks.visonlyqa import LORSU_SESSIONS, SYNTHETIC, VisOnlyQA, build
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures_visonlyqa import (
    CORRUPT,
    FINAL,
    NO_BYTES,
    ROWS,
    build_visonlyqa,
    image_seed,
    png,
    row,
    write_parquet,
)

SUFFIX = "Answer with the option's letter from the given choices directly."


def expected(group: str) -> list[tuple[str, int, Any]]:
    """(category, row within the category, spec) of the group's single-answer rows in the release's order."""
    order = {
        "real": ["geometry__triangle", "geometry__length", "chemistry__shape_multi"],
        "synthetic": ["syntheticgeometry__triangle", "3d__size", "3d__angle"],
        "train": ["syntheticgeometry__triangle", "3d__size"],
    }[group]
    return [(c, k, s) for c in order for k, s in enumerate(ROWS[group][c]) if s[5] == "single_answer"]


@pytest.fixture
def root(tmp_path):
    return build_visonlyqa(tmp_path / "visonlyqa")


def test_counts_order_and_fields(root):
    items = list(build(path=root).items())
    want = [("real", *e) for e in expected("real")] + [("synthetic", *e) for e in expected("synthetic")]
    assert len(items) == 10 and len(want) == 10
    assert [it.id for it in items] == [f"{c}/{s[7]}" for _, c, _, s in want]
    assert [(it.meta["split"], it.meta["category"]) for it in items] == [(g, c) for g, c, _, _ in want]
    assert [it.question for it in items] == [s[0] for _, _, _, s in want]
    assert [it.choices for it in items] == [tuple(s[2]) for _, _, _, s in want]
    # "False" of (True, False) is 1; "e" of a-e is 4, "b" 1; 3d__size's "a", "b" of a-c
    assert [it.answer for it in items] == [1, 1, 0, 4, 1, 1, 0, 0, 1, 4]
    # the category is the file's HF split: the 3d__angle row says task_category "size", the synthetic
    # triangles say image_category "geometry"
    assert items[-1].meta["category"] == "3d__angle" and items[5].meta["category"] == "syntheticgeometry__triangle"
    task = build(path=root)
    d = task.describe()
    assert d["items"] == 10 and d["images_missing"] == 0 and d["split"] == "all"
    assert d["dropped"] == {"multiple_answers": 2}  # chemistry__shape_multi, as LoRSU leaves it out
    assert "VisOnlyQA_Eval_Real/data" in d["layout"] and "VisOnlyQA_Eval_Synthetic/data" in d["layout"]


def test_splits_and_categories(root):
    real, synth = build(path=root, split="real"), build(path=root, split="synthetic")
    assert len(list(real.items())) == 5 and real.dropped == {"multiple_answers": 2}
    assert len(list(synth.items())) == 5 and synth.dropped == {}
    assert {it.meta["split"] for it in synth.items()} == {"synthetic"}
    train = list(build(path=root, split="train").items())
    assert [it.meta["category"] for it in train] == ["syntheticgeometry__triangle"] * 3 + ["3d__size"] * 2
    assert train[0].meta["prompt_no_reasoning"] == train[0].question + FINAL.format("True, False")
    # LoRSU's five sessions cover the seven train categories once, in its category_list order
    assert [c for s in LORSU_SESSIONS for c in s] == list(SYNTHETIC) and len(LORSU_SESSIONS) == 5
    assert LORSU_SESSIONS[4] == ("syntheticgeometry__area", "3d__size", "3d__angle")
    one = list(build(path=root, split="train/3d__size").items())
    assert [it.id for it in one] == ["3d__size/CLEVR_train_000000", "3d__size/CLEVR_train_000001"]
    assert [it.answer for it in one] == [2, 0]
    # each item's row in its category's whole split (every question type counted) and that split's length, so the
    # released code's per-category permutation can be replayed (harness.tune.official_sessions.visonlyqa_rows)
    assert [(it.meta["row"], it.meta["category_size"]) for it in train] == [(0, 3), (1, 3), (2, 3), (0, 2), (1, 2)]
    assert len(list(build(path=root, split="real/geometry__length").items())) == 2
    with pytest.raises(DatasetNotFound, match=r"no category '3d__size' in .*VisOnlyQA_Eval_Real.*geometry__length"):
        build(path=root, split="real/3d__size")
    for bad in ("test", "all/geometry__length"):
        with pytest.raises(InvalidInput, match="unknown split"):
            build(path=root, split=bad)


def test_images_are_the_rows_bytes(root):
    for split, group in (("all", "real"), ("train", "train")):  # train/3d__size has one row group per row
        task = build(path=root, split=split)
        items = [it for it in task.items() if it.meta["split"] == group]
        for it, (category, k, _) in zip(items, expected(group), strict=True):
            want = Image.open(io.BytesIO(png(image_seed(group, category, k)))).convert("RGB")
            got = task.load_image(it)
            assert got.mode == "RGB" and np.array_equal(np.asarray(got), np.asarray(want)), it.id


def test_layout_variants(tmp_path, root):
    v11 = build_visonlyqa(tmp_path / "v11", real_dir="VisOnlyQA_Eval_Real_v1.1")
    assert len(list(build(path=v11, split="real").items())) == 5
    nested = tmp_path / "lorsu"
    shutil.copytree(root, nested / "visonlyqa" / "VisOnlyQA")  # LoRSU's <root>/VisOnlyQA/VisOnlyQA_Train
    assert len(list(build(data_root=nested, split="train").items())) == 5
    # --data visonlyqa=<a repository folder> reads its parent
    assert build(path=root / "VisOnlyQA_Train", split="train").root == root
    with pytest.raises(InvalidInput, match="is a file"):
        build(path=next((root / "VisOnlyQA_Train" / "data").glob("*.parquet")))
    shutil.rmtree(root / "VisOnlyQA_Eval_Synthetic")
    with pytest.raises(DatasetNotFound, match="VisOnlyQA_Eval_Synthetic not found.*Expected layout"):
        build(path=root)
    (root / "VisOnlyQA_Eval_Synthetic" / "data").mkdir(parents=True)
    with pytest.raises(DatasetNotFound, match=r"no \.parquet files in .*VisOnlyQA_Eval_Synthetic/data"):
        build(path=root)


def _one_file(root, rows: list[dict[str, Any]], images: list[Any] | None = None) -> None:
    """Replace the synthetic repository with one 3d__size file of `rows`."""
    shutil.rmtree(root / "VisOnlyQA_Eval_Synthetic")
    images = images if images is not None else [png(k) for k in range(len(rows))]
    write_parquet(root / "VisOnlyQA_Eval_Synthetic" / "data" / "3d__size-00000-of-00001.parquet", rows, images)


def test_bad_files_name_the_file_and_column(root):
    good = [row(s) for s in ROWS["synthetic"]["3d__size"]]
    _one_file(root, [{k: v for k, v in r.items() if k != "response_options"} for r in good])
    with pytest.raises(DatasetFormatError, match=r"3d__size-00000-of-00001.parquet: no column 'response_options'"):
        build(path=root, split="synthetic")
    _one_file(root, [good[0], good[1] | {"answer": "d"}])
    with pytest.raises(DatasetFormatError, match=r"3d__size-00000-of-00001.parquet row 2 .*'answer' 'd' is not one"):
        build(path=root, split="synthetic")
    _one_file(root, [good[0] | {"response_options": ["a"]}])
    with pytest.raises(DatasetFormatError, match="row 1 .*'response_options' must be a list of 2 to 5"):
        build(path=root, split="synthetic")
    _one_file(root, [good[0] | {"question": ""}])
    with pytest.raises(DatasetFormatError, match="row 1 .*'question' must be a non-empty string"):
        build(path=root, split="synthetic")
    (root / "VisOnlyQA_Eval_Synthetic" / "data" / "3d__size-00000-of-00001.parquet").write_text("id,question\n")
    with pytest.raises(DatasetFormatError, match="3d__size-00000-of-00001.parquet: not a readable parquet file"):
        build(path=root, split="synthetic")


def test_repeated_ids_get_a_suffix(root):
    good = row(ROWS["synthetic"]["3d__size"][0])
    _one_file(root, [good, good | {"answer": "c"}, good])
    task = build(path=root, split="synthetic")
    ids = [it.id for it in task.items()]
    assert ids == ["3d__size/CLEVR_val_012151", "3d__size/CLEVR_val_012151#2", "3d__size/CLEVR_val_012151#3"]
    assert [it.answer for it in task.items()] == [0, 2, 0] and "row 2 " in task.where(list(task.items())[1])


def test_undecodable_or_missing_bytes_are_item_errors(tmp_path):
    root = build_visonlyqa(tmp_path / "visonlyqa", corrupt=True)
    task = build(path=root)
    assert task.describe()["images_missing"] == 1  # the row without bytes; corrupt bytes are only found decoding
    bad = {}
    for it in task.items():
        try:
            task.load_image(it)
        except ImageError as e:
            bad[(it.meta["split"], it.meta["category"])] = str(e)
    assert set(bad) == {CORRUPT[:2], NO_BYTES[:2]}
    assert "geometry__length-00000-of-00001.parquet row 1" in bad[CORRUPT[:2]] and "cannot decode" in bad[CORRUPT[:2]]
    assert "3d__size-00000-of-00001.parquet row 2" in bad[NO_BYTES[:2]]
    assert "no image bytes in 'decoded_image' (it names 'val_007640.png')" in bad[NO_BYTES[:2]]


def _sample(item, pred: int, error: str | None = None) -> dict[str, Any]:
    return {"id": item.id, "answer": item.answer, "pred": pred, "pred_norm": pred, "meta": item.meta, "error": error}


def test_metrics_by_hand(root):
    task = build(path=root)
    items = list(task.items())
    right = [True, False, True, True, False, True, True, False, False, True]
    samples = [_sample(it, it.answer if ok else (it.answer + 1) % len(it.choices)) for it, ok in zip(items, right)]
    samples.append(_sample(items[1], items[1].answer, error="cannot decode"))  # an item error is not counted
    m = task.metrics(samples)
    assert m["acc"].value == pytest.approx(6 / 10) and m["acc_norm"].value == pytest.approx(6 / 10)
    b = task.breakdown(samples)
    assert {k: v.value for k, v in b["split"].items()} == pytest.approx({"real": 3 / 5, "synthetic": 3 / 5})
    assert {k: v.value for k, v in b["category"].items()} == pytest.approx(
        {
            "geometry__triangle": 2 / 3,
            "geometry__length": 1 / 2,
            "syntheticgeometry__triangle": 1.0,
            "3d__size": 0.0,
            "3d__angle": 1.0,
        }
    )
    # the standard error of the mean over the 10 items (sample std, n - 1): sqrt(0.6 * 0.4 * 10 / 9 / 10)
    assert m["acc"].stderr == pytest.approx((0.24 / 9) ** 0.5)


def test_lorsu_letter_rule():
    task = VisOnlyQA.__new__(VisOnlyQA)  # the rule needs no data
    item5 = type("I", (), {"choices": tuple("abcde")})()
    item3 = type("I", (), {"choices": tuple("abc")})()
    cases = {"A": 0, " b \n": 1, "e": 4, "E.": -1, "(B)": -1, "B. 0.5": -1, "The answer is B": -1, "": -1, "AB": -1}
    assert {t: task.extract_answer(item5, t) for t in cases} == cases
    # LoRSU's dict has A-E whatever the item: "D" on a three-option item is never right
    assert task.extract_answer(item3, "D") == -1 and task.extract_answer(item3, "c") == 2


def test_prompt_is_lorsus(root):
    task = build(path=root)
    it = list(task.items())[3]  # geometry__length: the options are the letters a-e themselves
    want = it.question + "\nA. a\nB. b\nC. c\nD. d\nE. e\n" + SUFFIX
    assert task.prompt(it, "llava", "options").instruction == want and task.generate_prompt(it, "llava") == want
    assert task.prompt(it, "llava", "options").continuations == tuple("ABCDE")
    first = next(task.items())
    assert task.prompt(first, "llava", "text").continuations == ("True", "False")
    assert task.generate_prompt(first, "minigptv2").startswith("[vqa] There is no triangle ADP")


def test_deterministic(root):
    a, b = list(build(path=root, seed=3).items()), list(build(path=root, seed=9).items())
    assert a == b and len({it.id for it in a}) == len(a)


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_visonlyqa(tmp_path / "data" / "visonlyqa")
    rec, samples = eval_task("visonlyqa", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 7)
    ids = [it.id for it in build(data_root=tmp_path / "data").items()][:7]
    assert rec["n"] == 7 and [s["id"] for s in samples] == ids
    hits = [s["pred"] == s["answer"] for s in samples]
    assert rec["metrics"]["acc"]["value"] == pytest.approx(sum(hits) / 7)
    assert rec["breakdown"]["split"]["real"]["value"] == pytest.approx(sum(hits[:5]) / 5)
    assert rec["breakdown"]["split"]["synthetic"]["value"] == pytest.approx(sum(hits[5:]) / 2)
    seen = {"geometry__triangle", "geometry__length", "syntheticgeometry__triangle"}
    assert set(rec["breakdown"]["category"]) == seen


def test_cli_generate_mode(tiny_llava_dir, tmp_path):
    build_visonlyqa(tmp_path / "data" / "visonlyqa")
    out = tmp_path / "run"
    args = ["eval", "--tasks", "visonlyqa:synthetic", "--data-root", str(tmp_path / "data")]
    args += ["--model", str(tiny_llava_dir), "--device", "cpu", "--mode", "generate", "--max-new-tokens", "2"]
    res = CliRunner().invoke(app, [*args, "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    task = build(data_root=tmp_path / "data", split="synthetic")
    by_id = {it.id: it for it in task.items()}
    assert len(samples) == 5 and all("generation" in s for s in samples)
    assert all(s["pred"] == task.extract_answer(by_id[s["id"]], s["generation"]) for s in samples)
    rec = json.loads((out / "results.json").read_text())["tasks"]["visonlyqa:synthetic"]
    assert rec["metrics"]["acc"]["value"] == pytest.approx(sum(s["pred"] == s["answer"] for s in samples) / 5)

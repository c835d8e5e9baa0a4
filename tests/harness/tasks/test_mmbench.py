"""MMBench tests: the release TSV (rotations as rows, shared base64 images, NaN options), split and file forms,
located errors, the prompt and one CLI run. CircularEval is checked by hand and against VLMEvalKit's rule
(a question counts only if every rotation of it is right) recomputed from the TSV rows as written."""

from __future__ import annotations

import csv
import math
import random
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import InvalidInput
from harness.tasks.base import ImageError
from harness.tasks.mmbench import CN_SUFFIX, PROMPTS, PROMPTS_CN, MMBench, build
from harness.tasks.prompts import MC_SUFFIX
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures import write_image
from tests.harness.tasks.fixtures_mc_bench import MMB_CN, MMB_COLUMNS, MMB_ROUND, build_mmbench, mmb_rows, write_tsv

ORDER = ["3", "1000003", "2000003", "3000003", "58", "1000058", "2000058"]
ORDER += ["120", "1000120", "2000120", "3000120", "245", "1000245"]


def test_release_layout(tmp_path):
    task = build(data_root=build_mmbench(tmp_path / "mmbench").parent)
    items = list(task.items())
    assert [it.id for it in items] == ORDER  # by (g_index, index), whatever the file's row order
    assert task.split == "dev_en" and task.prompts is PROMPTS and "MMBench_DEV_EN.tsv" in task.layout
    assert task.describe()["items"] == 13 and task.describe()["images_missing"] == 0
    first = items[0]
    assert first.question == "Which category does this image belong to?" and first.answer == 3
    assert first.choices == ("Oil Paiting", "Sketch", "Digital art", "Photo")
    assert first.meta == {"g_index": 3, "category": "image_style", "l2_category": "coarse_perception", "hint": ""}
    assert first.image == f"{tmp_path / 'mmbench' / 'MMBench_DEV_EN.tsv'}#3"
    by_id = {it.id: it for it in items}
    three = by_id["58"]  # D is NaN: three options, the hint above the question
    assert three.choices == ("hard", "bumpy", "stretchy") and three.answer == 2
    assert three.question == "Select the best answer.\nWhich property do these three objects have in common?"
    assert three.meta["hint"] == "Select the best answer." and three.meta["l2_category"] == "attribute_reasoning"
    rotated = by_id["2000058"]  # taken as written, not rotated again
    assert rotated.choices == ("stretchy", "hard", "bumpy") and rotated.answer == 0 and rotated.meta["g_index"] == 58
    assert by_id["3000120"].choices == ("NO PARKING", "STOP", "YIELD", "ONE WAY") and by_id["3000120"].answer == 1
    assert len(by_id["1000245"].choices) == 2 and by_id["1000245"].answer == 0
    assert "\nLena waxed half" in by_id["245"].question  # a quoted TSV cell with a newline


def test_base64_images_and_shared_cells(tmp_path):
    task = build(path=build_mmbench(tmp_path / "mmb"))
    by_id = {it.id: it for it in task.items()}
    png = task.load_image(by_id["58"])
    with Image.open(write_image(tmp_path / "want.png", 1300 + 58)) as want:
        assert png.mode == "RGB" and png.size == (16, 16) and png.tobytes() == want.convert("RGB").tobytes()
    # a rotation's image cell is the main row's index: the same picture
    assert task.load_image(by_id["2000058"]).tobytes() == png.tobytes()
    jpeg = task.load_image(by_id["1000003"])
    assert jpeg.size == (16, 16) and jpeg.tobytes() == task.load_image(by_id["3"]).tobytes()
    assert jpeg.tobytes() != task.load_image(by_id["245"]).tobytes()
    assert not (tmp_path / "mmb" / "3.jpg").exists() and sorted(p.name for p in (tmp_path / "mmb").iterdir()) == [
        "MMBench_DEV_CN.tsv",
        "MMBench_DEV_EN.tsv",
    ]


def test_splits_and_file_forms(tmp_path):
    root = build_mmbench(tmp_path / "mmbench")
    assert [it.id for it in build_task("mmbench:dev", data_root=tmp_path).items()] == ORDER
    cn = build_task("mmbench:dev_cn", data_root=tmp_path)
    assert cn.split == "dev_cn" and cn.prompts is PROMPTS_CN
    assert [it.id for it in cn.items()] == ["3", "1000003", "2000003", "3000003", "120", "1000120", "2000120"] + [
        "3000120"
    ]
    assert next(cn.items()).question == MMB_CN[3][0] and next(cn.items()).choices == MMB_CN[3][1]
    by_file = build_task(f"mmbench={root / 'MMBench_DEV_CN.tsv'}")
    assert by_file.split == "MMBench_DEV_CN" and by_file.prompts is PROMPTS_CN and len(list(by_file.items())) == 8
    en = build_task("mmbench", data={"mmbench": root / "MMBench_DEV_EN.tsv"})
    assert en.prompts is PROMPTS and [it.id for it in en.items()] == ORDER
    with pytest.raises(DatasetNotFound, match=r"MMBench_TEST_EN.tsv not found \(present: \['MMBench_DEV_CN.tsv', "):
        build_task("mmbench:test", data_root=tmp_path)
    with pytest.raises(InvalidInput, match="either a split"):
        build_task(f"mmbench:dev_en={root / 'MMBench_DEV_EN.tsv'}")
    with pytest.raises(DatasetNotFound, match=r"elsewhere/mmbench does not exist"):
        build_task("mmbench", data_root=tmp_path / "elsewhere")


def test_test_split_without_answers(tmp_path):
    rows = [r | {"image": r["image"] or "x" * 80} for r in mmb_rows()]
    write_tsv(tmp_path / "mmbench" / "MMBench_TEST_EN.tsv", rows, tuple(c for c in MMB_COLUMNS if c != "answer"))
    task = build_task("mmbench:test_en", data_root=tmp_path)
    items = list(task.items())
    assert len(items) == 13 and {it.answer for it in items} == {-1}
    assert math.isnan(task.metrics([_sample(it, 0) for it in items])["circular_acc"].value)


def _edit(path, index: str, cells: dict[str, str]) -> None:
    lines = path.read_text().splitlines(keepends=True)
    rows = list(csv.DictReader(lines, delimiter="\t"))
    for r in rows:
        if r["index"] == index:
            r.update(cells)
    write_tsv(path, rows)


@pytest.mark.parametrize(
    ("index", "cells", "match"),
    [
        ("58", {"answer": "D"}, r"row 2 \(index 58\): 'answer' 'D' is not one of its options \['A', 'B', 'C'\]"),
        ("1000120", {"image": "999"}, r"row 7 \(index 1000120\): 'image' '999' is too short .*names no row"),
        ("1000003", {"image": ""}, r"row 5 \(index 1000003\): empty 'image' cell"),
        ("245", {"B": ""}, r"row 4 \(index 245\): needs at least options A and B, got \['A'\]"),
        ("120", {"question": ""}, r"row 3 \(index 120\): empty 'question'"),
        ("3", {"index": "three"}, r"MMBench_DEV_EN.tsv row 1: 'index' must be an integer, got 'three'"),
        ("1000003", {"index": "1000058"}, r"duplicate item ids .*1000058"),
    ],
)
def test_bad_rows_name_file_row_and_index(tmp_path, index, cells, match):
    root = build_mmbench(tmp_path, cn=False)
    _edit(root / "MMBench_DEV_EN.tsv", index, cells)
    with pytest.raises(DatasetFormatError, match=match):
        build(path=root)


def test_bad_files(tmp_path):
    root = build_mmbench(tmp_path, cn=False)
    f = root / "MMBench_DEV_EN.tsv"
    good = f.read_text()
    f.write_text(good.replace("\timage\t", "\tpicture\t", 1))
    with pytest.raises(DatasetFormatError, match=r"MMBench_DEV_EN.tsv: header .* lacks \['image'\]"):
        build(path=root)
    f.write_text("")
    with pytest.raises(DatasetFormatError, match=r"MMBench_DEV_EN.tsv: empty file"):
        build(path=root)
    f.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DatasetFormatError, match=r"MMBench_DEV_EN.tsv: not UTF-8"):
        build(path=root)
    f.write_text(good)
    _edit(f, "3", {"image": "!" * 20 + "QUJD" * 20})  # long enough to be data, but no image
    task = build(path=root)
    with pytest.raises(ImageError, match=r"MMBench_DEV_EN.tsv row 1 \(index 3\): cannot read the base64 image"):
        task.load_image(next(task.items()))
    assert task.where(next(task.items())).endswith("MMBench_DEV_EN.tsv row 1 (index 3)")


def _sample(item, pred: int, error: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": item.id, "answer": item.answer, "meta": item.meta, "error": error, "pred": pred, **extra}


def test_circular_metrics_by_hand(tmp_path):
    task = build(path=build_mmbench(tmp_path, cn=False))
    items = {it.id: it for it in task.items()}
    wrong = {"2000058", "120"}  # g58 misses a rotation, g120 its main row; g3 and g245 are right every time
    samples = [_sample(it, (it.answer + (i in wrong)) % len(it.choices)) for i, it in items.items()]
    m = task.metrics(samples)
    assert list(m) == ["circular_acc", "acc"]  # no pred_norm in these samples
    assert m["circular_acc"].value == 0.5 and m["circular_acc"].stderr == pytest.approx(math.sqrt(1 / 12), abs=1e-12)
    assert m["acc"].value == pytest.approx(11 / 13, abs=1e-12)
    bd = task.breakdown(samples)
    assert {k: {c: v.value for c, v in d.items()} for k, d in bd.items()} == {
        "l2_category": {
            "attribute_reasoning": 0.5,
            "coarse_perception": 1.0,
            "fine-grained_perception (single-instance)": 0.0,
        },
        "category": {"function_reasoning": 1.0, "image_style": 1.0, "ocr": 0.0, "physical_property_reasoning": 0.0},
    }
    shuffled = samples[:]
    random.Random(1).shuffle(shuffled)
    assert task.metrics(shuffled)["circular_acc"].value == 0.5
    # a group with an errored row has no circular verdict; acc leaves only that row out
    errored = [_sample(items[s["id"]], s["pred"], "bad image") if s["id"] == "1000245" else s for s in samples]
    m = task.metrics(errored)
    assert m["circular_acc"].value == pytest.approx(1 / 3, abs=1e-12) and m["acc"].value == pytest.approx(10 / 12)
    normed = [s | {"pred_norm": s["answer"]} for s in samples]
    m = task.metrics(normed)
    assert m["circular_acc_norm"].value == 1.0 and m["acc_norm"].value == 1.0 and m["circular_acc"].value == 0.5


def vlmevalkit_circular(rows: list[dict[str, str]], letters: dict[str, str]) -> dict[str, Any]:
    """mcq_circular_eval + report_acc, written out on the TSV rows: each main row (index < 1e6) is a hit iff
    every row with the same index mod 1e6 got its answer letter; the main row's l2-category groups it."""
    hits: dict[str, list[bool]] = {}
    for main in (r for r in rows if int(r["index"]) < MMB_ROUND):
        g = int(main["index"])
        group = [r for r in rows if int(r["index"]) % MMB_ROUND == g]
        hits.setdefault(main["l2-category"], []).append(all(letters[r["index"]] == r["answer"] for r in group))
    every = [h for v in hits.values() for h in v]
    return {"Overall": sum(every) / len(every), **{k: sum(v) / len(v) for k, v in hits.items()}}


def test_circular_equals_vlmevalkit_rule(tmp_path):
    root = build_mmbench(tmp_path, cn=False)
    rows = list(csv.DictReader((root / "MMBench_DEV_EN.tsv").read_text().splitlines(), delimiter="\t"))
    task = build(path=root)
    items = list(task.items())
    rng = random.Random(7)
    for _ in range(40):
        preds = [it.answer if rng.random() < 0.8 else rng.randrange(len(it.choices)) for it in items]
        want = vlmevalkit_circular(rows, {it.id: "ABCD"[p] for it, p in zip(items, preds)})
        samples = [_sample(it, p) for it, p in zip(items, preds)]
        assert task.metrics(samples)["circular_acc"].value == pytest.approx(want.pop("Overall"), abs=1e-12)
        assert {k: v.value for k, v in task.breakdown(samples)["l2_category"].items()} == pytest.approx(want)


def test_prompts(tmp_path):
    build_mmbench(tmp_path / "mmbench")
    task = build_task("mmbench", data_root=tmp_path)
    assert MMBench.prompts is PROMPTS
    it = {i.id: i for i in task.items()}["58"]
    opts = task.prompt(it, "llava", "options")
    want = "Select the best answer.\nWhich property do these three objects have in common?\n"
    assert opts.instruction == want + "A. hard\nB. bumpy\nC. stretchy\n" + MC_SUFFIX
    assert opts.continuations == ("A", "B", "C") and task.generate_prompt(it, "llava") == opts.instruction
    assert PROMPTS.render(it, "minigptv2", "options") == "[vqa] " + opts.instruction
    text = task.prompt(it, "llava", "text")
    assert text.instruction == want.rstrip("\n") and text.continuations == ("hard", "bumpy", "stretchy")
    cn = build_task("mmbench:dev_cn", data_root=tmp_path)
    p = cn.prompt(next(cn.items()), "llava", "options").instruction
    assert p == "这张图片属于哪个类别?\nA. 油画\nB. 素描\nC. 数字艺术\nD. 照片\n" + CN_SUFFIX and MC_SUFFIX not in p


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_mmbench(tmp_path / "data" / "mmbench")
    rec, samples = eval_task("mmbench", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 7)
    assert rec["n"] == 7 and {"circular_acc", "acc"} <= set(rec["metrics"])
    assert [s["id"] for s in samples] == ORDER[:7]  # whole rotation groups: g3 (4 rows), g58 (3 rows)
    ok = {g: all(s["pred"] == s["answer"] for s in samples if int(s["id"]) % MMB_ROUND == g) for g in (3, 58)}
    assert rec["metrics"]["circular_acc"]["value"] == (ok[3] + ok[58]) / 2
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 7
    assert rec["breakdown"]["l2_category"]["coarse_perception"]["value"] == float(ok[3])
    assert set(rec["breakdown"]["category"]) == {"image_style", "physical_property_reasoning"}


def test_a_broken_row_prints_one_error_line(tiny_llava_dir, tmp_path):
    """pandas' tokenizer message ends in a newline; the CLI still prints the error as one line (issue 27, item 4)."""
    root = build_mmbench(tmp_path / "data" / "mmbench", cn=False)
    f = root / "MMBench_DEV_EN.tsv"
    lines = f.read_text().splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + "\textra\textra\n"  # more cells than the header
    f.write_text("".join(lines))
    args = ["eval", "--tasks", "mmbench", "--data-root", str(tmp_path / "data"), "--model", str(tiny_llava_dir)]
    res = CliRunner().invoke(app, [*args, "--device", "cpu", "--out", str(tmp_path / "run")], env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert res.stderr.endswith("\n") and res.stderr.count("\n") == 1, repr(res.stderr)
    assert res.stderr.startswith("error: mmbench: ") and "not a readable TSV (Error tokenizing data" in res.stderr
    assert res.stderr.rstrip().endswith("saw 16)") and not (tmp_path / "run").exists()

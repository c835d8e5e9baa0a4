"""FGVC-Aircraft 2013b: the release layout, the four splits, the banner crop, the official metric, bad input."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from rich.console import Console
from sklearn.metrics import balanced_accuracy_score
from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.aircraft import FgvcAircraft, build
from harness.tasks.answers import extract_letter
from harness.tasks.base import ImageError, open_rgb
from harness.tasks.choices import export_choices
from harness.tasks.listing import print_tasks
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.fixtures_aircraft import (
    BANNER_RGB,
    SPLITS,
    TEST,
    TOP,
    VARIANTS,
    WIDTH,
    build_aircraft,
    top_rgb,
    write_aircraft_image,
)


@pytest.fixture
def data(tmp_path):
    return build_aircraft(tmp_path / "root")


def test_test_split_items_ids_and_class_names(data):
    task = build(path=data.parent)
    items = list(task.items())
    assert task.labels == VARIANTS and task.describe()["classes"] == 100
    assert {it.id: it.meta["variant"] for it in items} == dict(TEST)  # ids keep their leading zeros
    for it in items:
        assert it.question == "What is the type of this aircraft?"
        assert len(it.choices) == 5 and len(set(it.choices)) == 5 and set(it.choices) <= set(VARIANTS)
        assert it.choices[it.answer] == it.meta["variant"] == it.meta["label"]
        assert it.meta["class_id"] == VARIANTS.index(it.meta["variant"])
        assert it.image == str(data / "images" / f"{it.id}.jpg")
    # names holding spaces and slashes are read whole (the line is split at its first space only)
    assert {VARIANTS[it.meta["class_id"]] for it in items} >= {"Cessna 172", "F/A-18", "F-16A/B", "BAE 146-200"}
    info = task.describe()
    assert info["split"] == "test" and info["items"] == 12 and info["images_missing"] == 0
    assert info["metrics"][:2] == ["acc", "acc_norm"] and info["metrics"][-1] == "mean_class_acc"


@pytest.mark.parametrize("split", ["train", "val", "trainval"])
def test_other_splits(data, split):
    items = list(build_task(f"aircraft:{split}", data={"aircraft": data}).items())
    assert {it.id: it.meta["variant"] for it in items} == dict(SPLITS[split])
    assert all(it.choices[it.answer] == it.meta["variant"] for it in items)


def test_roots_the_release_its_data_folder_a_parent_and_data_root(data, tmp_path):
    want = [(it.id, it.choices, it.answer) for it in build(path=data).items()]
    for kwargs in ({"path": data.parent}, {"path": data.parent.parent}, {"data_root": data.parent.parent}):
        assert [(it.id, it.choices, it.answer) for it in build(**kwargs).items()] == want, kwargs
    lorsu = tmp_path / "lorsu" / "fgvc_aircraft"  # LoRSU's <dataroot>/fgvc_aircraft/fgvc-aircraft-2013b/
    lorsu.mkdir(parents=True)
    shutil.move(data.parent, lorsu / "fgvc-aircraft-2013b")
    assert [(it.id, it.choices, it.answer) for it in build(data_root=tmp_path / "lorsu").items()] == want


def test_the_copyright_banner_is_cropped(data):
    task = build(path=data)
    item = next(it for it in task.items())
    raw = open_rgb(data / "images" / f"{item.id}.jpg")
    assert raw.size == (WIDTH, TOP + 20)
    assert _near(raw.getpixel((5, TOP + 10)), BANNER_RGB)  # the fixture's banner is there before the crop
    image = task.load_image(item)
    assert image.size == (WIDTH, TOP) and image.mode == "RGB"
    colours = {c for _, c in image.getcolors(WIDTH * TOP)}
    assert all(_near(c, top_rgb(item.id)) for c in colours) and not any(_near(c, BANNER_RGB, 60) for c in colours)


def test_an_image_no_taller_than_the_banner_is_an_image_error(data):
    task = build(path=data)
    item = next(it for it in task.items())
    write_aircraft_image(data / "images" / f"{item.id}.jpg", item.id, height=20)
    with pytest.raises(ImageError, match=rf"{item.id}.jpg is 20 pixels tall"):
        task.load_image(item)


def _near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 12) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) <= tol


# the test split's items by class, and which of them the model gets right (1 of 2, 3 of 3, 0 of 1, ...)
RIGHT = {"0061240": True, "0112793": False, "1514522": True, "1514527": True, "1514530": True, "0497380": False}
RIGHT |= {"2229130": True, "2229131": True, "1952342": True, "0776903": False, "0776904": False, "1180640": False}


def _samples(task: FgvcAircraft) -> list[dict]:
    return [
        {
            "id": it.id,
            "answer": it.answer,
            "pred": it.answer if RIGHT[it.id] else (it.answer + 1) % 5,
            "pred_norm": it.answer,
            "choices": list(it.choices),
            "meta": it.meta,
            "error": None,
        }
        for it in task.items()
    ]


# sklearn warns that predicted distractor classes never occur as a truth; they take no part in the mean
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_metrics_by_hand_and_sklearn(data):
    task = build(path=data)
    samples = _samples(task)
    m = task.metrics(samples)
    assert m["acc"].value == pytest.approx(7 / 12)
    assert m["acc_norm"].value == 1.0
    # per class: 707-320 1/2, Cessna 172 3/3, F/A-18 0/1, BAE 146-200 2/2, Legacy 600 1/1, A380 0/2, F-16A/B 0/1
    assert m["mean_class_acc"].value == pytest.approx((0.5 + 1 + 0 + 1 + 1 + 0 + 0) / 7)
    truth = [s["meta"]["variant"] for s in samples]
    picked = [s["choices"][s["pred"]] for s in samples]
    assert m["mean_class_acc"].value == pytest.approx(balanced_accuracy_score(truth, picked))
    assert m["mean_class_acc"].stderr is None  # three classes have a single image
    # an item error is left out of every metric: 707-320 keeps only its wrong image
    k = next(i for i, s in enumerate(samples) if s["id"] == "0061240")
    samples[k] = {**samples[k], "error": "image not found"}
    assert task.metrics(samples)["mean_class_acc"].value == pytest.approx((0 + 1 + 0 + 1 + 1 + 0 + 0) / 7)


def test_choice_sets_are_deterministic_and_seeded(data):
    sets = lambda task: {it.id: (it.choices, it.answer) for it in task.items()}  # noqa: E731
    first = sets(build(path=data))
    split = data / "images_variant_test.txt"
    split.write_text("".join(reversed(split.read_text().splitlines(keepends=True))))
    again = build(path=data)
    assert sets(again) == first and [it.id for it in again.items()] == [it.id for it in build(path=data).items()]
    assert sets(build(path=data, seed=1)) != first


def test_use_choices_repeats_an_exported_set(data, tmp_path):
    published = list(build(path=data, seed=1).items())
    export_choices(published, tmp_path / "choices.jsonl", task="aircraft")
    task = FgvcAircraft(data, seed=2).use_choices(tmp_path / "choices.jsonl")
    assert [(it.id, it.choices, it.answer) for it in task.items()] == [
        (it.id, it.choices, it.answer) for it in published
    ]


def _eval(args: list[str], out) -> tuple[dict, list[dict]]:
    res = CliRunner().invoke(app, ["eval", "--vlm", "llava", "--device", "cpu", "--quiet", "--out", str(out), *args])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "results.json").read_text())["tasks"]["aircraft"]
    return record, [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def test_cli_likelihood_choices_and_generate(tiny_llava_dir, data, tmp_path):
    common = ["--tasks", "aircraft", "--data-root", str(data.parent.parent), "--model", str(tiny_llava_dir)]
    rec, samples = _eval([*common, "--limit", "6", "--seed", "1"], tmp_path / "a")
    assert rec["n"] == 6 and set(rec["metrics"]) >= {"acc", "acc_norm", "mean_class_acc"}
    assert [s["id"] for s in samples] == [it.id for it in build(path=data).items()][:6]
    right: dict[str, list[bool]] = {}
    for s in samples:
        assert s["choices"][s["answer"]] == s["meta"]["variant"]
        right.setdefault(s["meta"]["variant"], []).append(s["pred"] == s["answer"])
    assert rec["metrics"]["acc"]["value"] == pytest.approx(sum(s["pred"] == s["answer"] for s in samples) / 6)
    want = sum(sum(v) / len(v) for v in right.values()) / len(right)
    assert rec["metrics"]["mean_class_acc"]["value"] == pytest.approx(want)

    choices = ["--choices", str(tmp_path / "a" / "samples.jsonl")]
    _, repeated = _eval([*common, "--limit", "6", "--seed", "2", *choices], tmp_path / "b")
    pick = lambda ss: {s["id"]: (s["choices"], s["answer"]) for s in ss}  # noqa: E731
    assert pick(repeated) == pick(samples)

    gen_args = [*common, "--limit", "3", "--seed", "2", "--mode", "generate", "--max-new-tokens", "2"]
    rec, generated = _eval(gen_args, tmp_path / "g")
    assert rec["n"] == 3 and set(rec["metrics"]) >= {"acc", "mean_class_acc"}
    assert all(isinstance(s["generation"], str) and s["error"] is None for s in generated)
    for s in generated:  # LoRSU's prompt; the answer letter read from the generation
        options = "\n".join(f"{letter}. {c}" for letter, c in zip("ABCDE", s["choices"]))
        want = f"<image>\nWhat is the type of this aircraft?\n{options}\nAnswer with the option's letter from the given"
        assert want in s["prompt"]
        assert s["pred"] == extract_letter(s["generation"], tuple(s["choices"]))
    seeded = pick(generated)
    assert seeded != {k: v for k, v in pick(samples).items() if k in seeded}  # seed 2 draws other sets


def test_cli_missing_image_is_an_item_error(tiny_llava_dir, data, tmp_path):
    first = next(build(path=data).items())
    (data / "images" / f"{first.id}.jpg").unlink()
    assert build(path=data).describe()["images_missing"] == 1
    args = ["--tasks", "aircraft", "--data", f"aircraft={data}", "--model", str(tiny_llava_dir), "--limit", "2"]
    rec, samples = _eval([*args, "--max-errors", "1"], tmp_path / "run")
    assert rec["n"] == 1 and rec["n_errors"] == 1
    assert f"{first.id}.jpg" in next(s["error"] for s in samples if s["id"] == first.id)


def test_bad_split_files(data):
    split = data / "images_variant_test.txt"
    lines = split.read_text().splitlines()
    split.write_text("\n".join(lines[:2] + ["0061299 Boeing 787"] + lines[2:]) + "\n")
    with pytest.raises(
        DatasetFormatError, match=r"images_variant_test.txt:3: variant 'Boeing 787' is not in .*variants"
    ):
        build(path=data)
    split.write_text("\n".join(lines[:4] + ["0061299"] + lines[4:]) + "\n")
    with pytest.raises(DatasetFormatError, match=r"images_variant_test.txt:5: expected '<image id> <variant>'"):
        build(path=data)
    split.write_text("\n".join(lines + [lines[1]]) + "\n")
    with pytest.raises(DatasetFormatError, match=r"test.txt:13: image 0112793 is already listed on line 2"):
        build(path=data)
    split.write_text("\n")
    with pytest.raises(DatasetFormatError, match="no items in split 'test'"):
        build(path=data)
    split.unlink()
    with pytest.raises(DatasetNotFound, match=r"images_variant_test.txt not found.*Expected layout"):
        build(path=data)


def test_bad_variants_file(data):
    variants = data / "variants.txt"
    variants.write_text("".join(f"{v}\n" for v in VARIANTS[:10]) + "\n" + "".join(f"{v}\n" for v in VARIANTS[10:]))
    with pytest.raises(DatasetFormatError, match=r"variants.txt:11: blank line"):
        build(path=data)
    variants.write_text("707-320\n727-200\n707-320\n")
    with pytest.raises(DatasetFormatError, match=r"variants.txt:3: variant '707-320' is already on line 1"):
        build(path=data)
    variants.write_text("707-320\n727-200\n")
    with pytest.raises(DatasetFormatError, match="2 variant names; five-option questions need at least 5"):
        build(path=data)
    variants.unlink()
    with pytest.raises(DatasetNotFound, match=r"aircraft: .*variants.txt not found.*Expected layout"):
        build(path=data)


def test_missing_root_unknown_split_and_no_data(tmp_path, data):
    with pytest.raises(DatasetNotFound, match=r"does not exist\. Expected layout: fgvc-aircraft-2013b/data/"):
        build(path=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFound, match=r"no FGVC-Aircraft data under .*empty"):
        build(path=tmp_path / "empty")
    with pytest.raises(DatasetNotFound, match="--data-root"):
        build()
    with pytest.raises(
        ValueError, match=r"unknown split 'dev'; expected one of \('test', 'train', 'val', 'trainval'\)"
    ):
        build(path=data, split="dev")


def test_clip_zero_shot_over_the_variants(data, tmp_path):
    """`--vlm clip`: each image's class is its variants.txt line; top-5 equal a direct zero-shot computation on
    the cropped images over the 100 names with the task's CLIP templates."""
    from harness.clip.data import templates_for
    from harness.clip.loading import load_clip
    from harness.clip.zeroshot import zero_shot_classify
    from harness.eval.runner import EvalConfig, run_eval
    from harness.toy.build import MODELS_DIR

    model = str(MODELS_DIR / "clip")
    cfg = EvalConfig(vlm="clip", model=model, device="cpu", out=str(tmp_path / "c"), tasks=["aircraft"])
    cfg.data = {"aircraft": str(data)}
    rec = run_eval(cfg, progress=False)["tasks"]["aircraft"]
    samples = [json.loads(x) for x in (tmp_path / "c" / "samples.jsonl").read_text().splitlines()]
    task = build(path=data)
    assert rec["classes"] == 100 and rec["templates"] == len(templates_for("aircraft")) and rec["n"] == 12
    assert {s["id"]: s["answer"] for s in samples} == {i: VARIANTS.index(v) for i, v in TEST}
    items = {it.id: it for it in task.items()}
    direct = zero_shot_classify(
        load_clip(model, device="cpu"),
        [task.load_image(items[s["id"]]) for s in samples],
        list(VARIANTS),
        templates_for("aircraft"),
        top_k=(1, 5),
    )
    assert [s["top5"] for s in samples] == [t[:5] for t in direct.topk.tolist()]
    assert rec["metrics"]["top1"]["value"] == pytest.approx(sum(s["pred"] == s["answer"] for s in samples) / 12)


def test_harness_tasks_lists_the_items_found(data):
    out = io.StringIO()
    print_tasks(Console(file=out, width=250), data.parent.parent)
    row = next(line for line in out.getvalue().splitlines() if " aircraft " in line)
    assert " FGVC-Aircraft 2013b (data/images_variant_test.txt) / test " in row and " 12 " in row, row
    assert "acc, acc_norm" in row and "mean_class_acc" in row


@pytest.mark.parametrize("breakage", ["unknown variant", "no variants.txt"])
def test_cli_bad_data_is_one_line_before_any_model(data, tmp_path, breakage):
    if breakage == "unknown variant":
        (data / "images_variant_test.txt").write_text("0061240 Boeing 787\n")
        want = "images_variant_test.txt:1: variant 'Boeing 787' is not in"
    else:
        (data / "variants.txt").unlink()
        want = "variants.txt not found (the 100 variant names)"
    args = ["eval", "--tasks", "aircraft", "--data-root", str(data.parent.parent), "--model", str(tmp_path / "none")]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and want in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "run").exists()

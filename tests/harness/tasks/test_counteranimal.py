"""CounterAnimal: the release layout, ids/groups/backgrounds, both label spaces, group splits, bad input, the metrics
(acc per group and the drop) against hand-worked values, and `harness eval` on the toy LLaVA (options and generate)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import InvalidInput
from harness.tasks.base import ImageError
from harness.tasks.choice_task import ChoiceTask
from harness.tasks.choices import ChoicesFileError, export_choices
from harness.tasks.counteranimal import COUNTERANIMAL_IDS, QUESTION, CounterAnimal, build, imagenet_class_names
from harness.tasks.registry import build_task
from harness.tasks.sources import DatasetFormatError, DatasetNotFound
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures import write_corrupt, write_image
from tests.harness.tasks.fixtures_counteranimal import CLIP_NAMES, build_counteranimal, expected_ids

# the choice tasks' own metrics (acc, acc_norm, ...), then CounterAnimal's
BASE = list(ChoiceTask.metric_names)
ALL_METRICS = [*BASE, "acc_common", "acc_counter", "drop"]


@pytest.fixture
def root(tmp_path):
    return build_counteranimal(tmp_path / "counteranimal")


def _sets(task: CounterAnimal) -> dict[str, tuple[tuple[str, ...], int]]:
    return {it.id: (it.choices, it.answer) for it in task.items()}


def test_class_names_are_clips_and_read_without_torch(root):
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    names = imagenet_class_names()
    assert names == tuple(IMAGENET_CLASSNAMES) and len(names) == 1000
    assert {i: names[i] for i in CLIP_NAMES} == CLIP_NAMES
    assert (names[33], names[150], names[9]) == ("loggerhead sea turtle", "sea lion", "ostrich")
    assert len(set(COUNTERANIMAL_IDS)) == 45 and list(COUNTERANIMAL_IDS) == sorted(COUNTERANIMAL_IDS)
    code = (
        "import sys; from harness.tasks.counteranimal import build; "
        f"t = build(path={str(root)!r}); assert len(list(t.items())) == 12; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("nested", [True, False])
def test_counts_ids_groups_and_labels(tmp_path, nested):
    task = build(path=build_counteranimal(tmp_path / "ca", nested=nested))
    items = list(task.items())
    d = task.describe()
    assert d["items"] == len(items) == 12 and d["images_missing"] == 0 and d["dropped"] == {}
    assert d["split"] == "imagenet/all" and d["label_space"] == "imagenet" and d["metrics"] == ALL_METRICS
    assert d["classes"] == 998  # CLIP repeats "missile" and "sunglasses"
    got = {it.id: (it.meta["imagenet_id"], it.meta["group"], it.meta["background"]) for it in items}
    assert got == expected_ids()
    names = set(imagenet_class_names())
    for it in items:
        assert it.question == QUESTION and len(set(it.choices)) == 5 and set(it.choices) <= names
        assert it.choices[it.answer] == CLIP_NAMES[it.meta["imagenet_id"]] == it.meta["label"]
        assert it.meta["choices"] == list(it.choices)
    assert {it.meta["folder_name"] for it in items} == {"ice bear", "black swan", "lion"}
    assert task.load_image(items[0]).size == (16, 16)


def test_group_splits_keep_each_items_choices(root, tmp_path):
    everything = list(build(path=root).items())
    for group, n in (("common", 7), ("counter", 5)):
        task = build_task(f"counteranimal:{group}", data_root=root.parent)
        assert list(task.items()) == [it for it in everything if it.meta["group"] == group]
        assert len(list(task.items())) == n and task.describe()["split"] == f"imagenet/{group}"
        assert task.describe()["metrics"] == [*BASE, f"acc_{group}"]
    assert list(build_task("counteranimal:imagenet/all", data_root=root.parent).items()) == everything


def test_animals_label_space(root):
    animals = [CLIP_NAMES.get(i) or imagenet_class_names()[i] for i in COUNTERANIMAL_IDS]
    task = build(path=root, split="animals")
    assert task.describe()["classes"] == 45 and task.describe()["split"] == "animals/all"
    for it in task.items():
        assert set(it.choices) <= set(animals) and it.choices[it.answer] == CLIP_NAMES[it.meta["imagenet_id"]]
    counter = build(path=root, split="animals/counter")
    assert list(counter.items()) == [it for it in task.items() if it.meta["group"] == "counter"]
    assert _sets(task) != _sets(build(path=root))


def test_a_group_splits_choices_file_fits_that_split(root, tmp_path):
    counter = build(path=root, split="counter", seed=5)
    assert export_choices(counter.items(), tmp_path / "c.jsonl", task="counteranimal") == 5
    again = build(path=root, split="counter", seed=9).use_choices(tmp_path / "c.jsonl")
    assert _sets(again) == _sets(counter) != _sets(build(path=root, split="counter", seed=9))
    with pytest.raises(ChoicesFileError, match="7 items of the dataset have no choice set"):
        build(path=root, seed=9).use_choices(tmp_path / "c.jsonl")


@pytest.mark.parametrize("split", ["hard", "animals/easy", "imagenet20/all", "animals/counter/x"])
def test_unknown_split_is_one_clear_error(root, split):
    with pytest.raises(InvalidInput, match=f"unknown split '{split}'.*labels one of .*'imagenet', 'animals'"):
        build(path=root, split=split)


def test_deterministic_seeded_and_independent_of_the_layout(root, tmp_path):
    assert list(build(path=root, seed=3).items()) == list(build(path=root, seed=3).items())
    assert _sets(build(path=root, seed=3)) != _sets(build(path=root, seed=4))
    flat = build(path=build_counteranimal(tmp_path / "flat", nested=False), seed=3)
    assert list(_sets(flat).items()) == list(_sets(build(path=root, seed=3)).items())


def test_prompt_is_lorsus(root):
    task = build(path=root)
    it = next(iter(task.items()))
    lines = [f"{'ABCDE'[i]}. {c}" for i, c in enumerate(it.choices)]
    expected = "\n".join([QUESTION, *lines, "Answer with the option's letter from the given choices directly."])
    assert task.prompt(it, "llava", "options").instruction == expected == task.generate_prompt(it, "llava")
    assert task.prompt(it, "llava", "options").continuations == tuple("ABCDE")
    assert task.prompt(it, "minigptv2", "options").instruction == "[vqa] " + expected
    assert task.prompt(it, "llava", "text").continuations == it.choices


def _sample(cid: int, group: str, background: str, ok: bool, **kw) -> dict:
    meta = {"imagenet_id": cid, "group": group, "background": background}
    return {"answer": 2, "pred": 2 if ok else 0, "pred_norm": 2, "error": None, "meta": meta, **kw}


SAMPLES = [
    _sample(296, "common", "snow", True),
    _sample(296, "common", "snow", True),
    _sample(100, "common", "water", True),
    _sample(100, "common", "water", False),
    _sample(296, "counter", "grass", True),
    _sample(100, "counter", "earth", False),
    _sample(100, "counter", "earth", False),
    _sample(291, "counter", "snow", True, error="ImageError: cannot read"),  # not scored
    _sample(291, "common", "grass", True, answer=-1),  # no label: not scored
]


def test_metrics_hand_computed(root):
    m = build(path=root).metrics(SAMPLES)
    assert list(m) == ["acc", "acc_norm", "acc_common", "acc_counter", "drop"]  # likelihood samples
    # acc over [1,1,1,0,1,0,0]: 4/7, sample variance 2/7, stderr sqrt(2/7/7)
    assert m["acc"].value == pytest.approx(4 / 7) and m["acc"].stderr == pytest.approx(math.sqrt(2) / 7)
    assert m["acc_norm"].value == 1.0 and m["acc_norm"].stderr == 0.0
    # common [1,1,1,0]: 0.75, variance 0.25 → stderr 0.25; counter [1,0,0]: 1/3, variance 1/3 → stderr 1/3
    assert (m["acc_common"].value, m["acc_common"].stderr) == pytest.approx((0.75, 0.25))
    assert (m["acc_counter"].value, m["acc_counter"].stderr) == pytest.approx((1 / 3, 1 / 3))
    # drop 0.75 - 1/3 = 5/12, stderr sqrt(1/16 + 1/9) = 5/12
    assert (m["drop"].value, m["drop"].stderr) == pytest.approx((5 / 12, 5 / 12))


def test_breakdown_hand_computed(root):
    b = build(path=root).breakdown(SAMPLES)
    assert list(b) == ["group", "background", "class_common", "class_counter", "class_drop"]
    assert {k: v.value for k, v in b["group"].items()} == pytest.approx({"common": 0.75, "counter": 1 / 3})
    bg = {k: v.value for k, v in b["background"].items()}
    assert bg == {"common-snow": 1.0, "common-water": 0.5, "counter-earth": 0.0, "counter-grass": 1.0}
    assert list(b["class_common"]) == ["100 black swan", "296 polar bear"]  # index order
    assert (b["class_common"]["100 black swan"].value, b["class_common"]["100 black swan"].stderr) == (0.5, 0.5)
    assert (b["class_counter"]["296 polar bear"].value, b["class_counter"]["296 polar bear"].stderr) == (1.0, None)
    assert (b["class_drop"]["100 black swan"].value, b["class_drop"]["100 black swan"].stderr) == (0.5, 0.5)
    assert (b["class_drop"]["296 polar bear"].value, b["class_drop"]["296 polar bear"].stderr) == (0.0, None)


def test_one_group_metrics(root):
    counter = build(path=root, split="counter")
    only = [s for s in SAMPLES if s["meta"]["group"] == "counter"]
    m = counter.metrics(only)
    assert list(m) == ["acc", "acc_norm", "acc_counter"] and m["acc"] == m["acc_counter"]
    assert list(counter.breakdown(only)) == ["group", "background", "class_counter"]
    # the full split with no counter items scored yet (e.g. --limit): undefined, not zero
    m = build(path=root).metrics([s for s in SAMPLES if s["meta"]["group"] == "common"])
    assert math.isnan(m["acc_counter"].value) and math.isnan(m["drop"].value) and m["drop"].stderr is None


def test_misnamed_folders_are_counted_and_left_out(root):
    folder = root / "LAION-final"
    for k in range(2):
        write_image(folder / "ice bear" / "common-snow" / f"{k}.jpg", 1)
    write_image(folder / "296 ice bear" / "easy-snow" / "9.jpg", 2)
    write_image(folder / "296 ice bear" / "common" / "9.jpg", 3)
    (folder / ".cache" / "x").mkdir(parents=True)
    task = build(path=root)
    assert len(list(task.items())) == 12
    assert task.describe()["dropped"] == {
        "folder 'ice bear' (not '<ImageNet id> <name>')": 2,
        "subfolder 296 ice bear/common (not common-*/counter-*)": 1,
        "subfolder 296 ice bear/easy-snow (not common-*/counter-*)": 1,
    }


@pytest.mark.parametrize(
    "folder, split, message",
    [
        ("1000 unicorn", "all", r"1000 unicorn: ImageNet id 1000 is outside 0..999"),
        ("296 polar bear", "all", r"296 ice bear and .*296 polar bear are both ImageNet class 296"),
        ("1 goldfish", "animals", r"1 goldfish: ImageNet class 1 \(goldfish\) is not one of the 45"),
    ],
)
def test_bad_class_folders_are_named_errors(root, folder, split, message):
    write_image(root / "LAION-final" / folder / "counter-water" / "0.jpg", 5)
    with pytest.raises(DatasetFormatError, match=message):
        build(path=root, split=split)


def test_an_extra_imagenet_class_is_fine_in_the_imagenet_label_space(root):
    write_image(root / "LAION-final" / "1 goldfish" / "counter-water" / "0.jpg", 5)
    item = next(it for it in build(path=root).items() if it.meta["imagenet_id"] == 1)
    assert item.choices[item.answer] == "goldfish"


def test_missing_empty_and_imageless_roots(tmp_path):
    with pytest.raises(DatasetNotFound, match="does not exist.*Expected layout: LAION-final/<ImageNet id>"):
        build(path=tmp_path / "nowhere")
    with pytest.raises(DatasetNotFound, match="--data-root"):
        build()
    (tmp_path / "empty" / "LAION-final").mkdir(parents=True)
    with pytest.raises(DatasetNotFound, match="no CounterAnimal class folders under .*empty"):
        build(path=tmp_path / "empty")
    (tmp_path / "empty" / "LAION-final" / "296 ice bear" / "common-snow").mkdir(parents=True)
    with pytest.raises(DatasetFormatError, match="no items in split 'imagenet/all'"):
        build(path=tmp_path / "empty")


def test_corrupt_and_missing_images(root):
    task = build(path=root)
    by_id = {it.id: it for it in task.items()}
    write_corrupt(root / "LAION-final" / "291 lion" / "counter-snow" / "0.jpg")
    (root / "LAION-final" / "100 black swan" / "common-water" / "1.jpg").unlink()
    with pytest.raises(ImageError, match="cannot read.*291 lion/counter-snow/0.jpg"):
        task.load_image(by_id["291/counter-snow/0"])
    with pytest.raises(ImageError, match="not found.*common-water/1.jpg"):
        task.load_image(by_id["100/common-water/1"])


def _check_record(rec: dict, samples: list[dict], keys: list[str]) -> None:
    assert set(rec["metrics"]) == set(keys) and rec["n"] == len(samples)
    for group in ("common", "counter"):
        ok = [s["pred"] == s["answer"] for s in samples if s["meta"]["group"] == group]
        if f"acc_{group}" in keys:
            assert rec["metrics"][f"acc_{group}"]["value"] == pytest.approx(sum(ok) / len(ok))
    assert rec["metrics"]["acc"]["value"] == pytest.approx(
        sum(s["pred"] == s["answer"] for s in samples) / len(samples)
    )


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    shutil.copytree(build_counteranimal(tmp_path / "src"), tmp_path / "data" / "counteranimal")
    rec, samples = eval_task("counteranimal", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 12)
    _check_record(rec, samples, ["acc", "acc_norm", "acc_common", "acc_counter", "drop"])
    m = rec["metrics"]
    assert m["drop"]["value"] == pytest.approx(m["acc_common"]["value"] - m["acc_counter"]["value"])
    assert set(rec["breakdown"]) == {"group", "background", "class_common", "class_counter", "class_drop"}
    assert {s["id"] for s in samples} == set(expected_ids())
    assert all(s["meta"]["choices"][s["answer"]] == CLIP_NAMES[s["meta"]["imagenet_id"]] for s in samples)


def test_cli_generate_on_the_counter_split(tiny_llava_dir, tmp_path):
    build_counteranimal(tmp_path / "data" / "counteranimal")
    args = ["eval", "--tasks", "counteranimal:counter", "--data-root", str(tmp_path / "data")]
    args += ["--model", str(tiny_llava_dir), "--device", "cpu", "--mode", "generate", "--max-new-tokens", "2"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    rec = json.loads((tmp_path / "run" / "results.json").read_text())["tasks"]["counteranimal:counter"]
    samples = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 5 and {s["meta"]["group"] for s in samples} == {"counter"}
    assert all("generation" in s for s in samples)
    # generations have no acc_norm; the choice tasks' generation-only scores (LoRSU's letter rule) stay
    _check_record(rec, samples, ["acc", *[k for k in BASE if k not in ("acc", "acc_norm")], "acc_counter"])

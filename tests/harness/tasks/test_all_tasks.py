"""All tasks from one data root: registry names, describe(), determinism, the `harness tasks` listing (the six of
the LoRSU protocol and the general-ability suite)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.report.flips import CATEGORIES
from harness.tasks.base import ImageError
from harness.tasks.listing import print_tasks
from harness.tasks.registry import available, build_task
from harness.tasks.sources import DatasetNotFound
from tests.harness.tasks.fixtures import build_all_fixtures

NAMES = ("tsi", "gts", "dalle", "vizwiz", "vsr", "hm")
COUNTS = {"tsi": 30, "gts": 20, "dalle": 22, "vizwiz": 6, "vsr": 18, "hm": 12}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    paths = build_all_fixtures(root)
    assert set(paths) == set(NAMES) and all(p.is_dir() and p.parent == root for p in paths.values())
    return root


def test_registered_names():
    assert set(NAMES) <= set(available())


@pytest.mark.parametrize("name", NAMES)
def test_each_task_loads_from_the_data_root(data_root, name):
    task = build_task(name, data_root=data_root, seed=0)
    items = list(task.items())
    d = task.describe()
    assert d["items"] == len(items) == COUNTS[name]
    assert d["images_missing"] == 0 and d["split"] and d["layout"] and d["metrics"]
    assert d["version"] == task.version and task.version.endswith(f".p{d['prompt_version']}")
    assert isinstance(d["dropped"], dict)
    for it in items[:3]:
        assert task.load_image(it).mode == "RGB"
        for family in ("llava", "minigptv2"):
            for style in ("options", "text"):
                p = task.prompt(it, family, style)
                assert len(p.continuations) == len(it.choices) and p.instruction
            assert task.generate_prompt(it, family)


@pytest.mark.parametrize("name", NAMES)
def test_items_are_deterministic_and_limits_take_a_prefix(data_root, name):
    a = list(build_task(name, data_root=data_root, seed=7).items())
    b = list(build_task(name, data_root=data_root, seed=7).items())
    assert a == b
    limited = []
    for it in build_task(name, data_root=data_root, seed=7).items():
        if len(limited) == 5:
            break
        limited.append(it)
    assert limited == a[:5]


def test_path_override_beats_the_data_root(data_root, tmp_path):
    task = build_task(f"dalle={data_root / 'dalle' / 'v2'}", data_root=tmp_path)
    assert task.describe()["items"] == 22


def test_corrupt_option_adds_item_errors(tmp_path):
    build_all_fixtures(tmp_path, corrupt=True)
    for name, n_bad in (("vizwiz", 1), ("hm", 1), ("gts", 0)):
        task = build_task(name, data_root=tmp_path)
        bad = 0
        for it in task.items():
            try:
                task.load_image(it)
            except ImageError:
                bad += 1
        assert bad == n_bad


def test_harness_tasks_listing_counts_items(data_root):
    out = io.StringIO()
    print_tasks(Console(file=out, width=250), data_root)
    text = out.getvalue()
    for name in NAMES:
        row = next(line for line in text.splitlines() if f" {name} " in line)
        assert f" {COUNTS[name]} " in row, row


@pytest.mark.parametrize(
    "spec, split",
    [
        ("vsr:random/test", "random/test"),
        ("vsr:random", "random/test"),
        ("vsr:test", "zeroshot/test"),
        ("hm:dev_seen", "dev_seen"),
        ("tsi:train", "train"),
        ("gts:train", "train"),
        ("vizwiz:val", "val"),
    ],
)
def test_split_specs(data_root, spec, split):
    assert build_task(spec, data_root=data_root).describe()["split"] == split


def test_bad_split_specs(data_root):
    with pytest.raises(ValueError, match="does not take a split"):
        build_task("dalle:test", data_root=data_root)
    with pytest.raises(DatasetNotFound, match="zeroshot/dev.jsonl not found"):
        build_task("vsr:dev", data_root=data_root)
    with pytest.raises(ValueError, match="unknown split 'val'"):
        build_task("gts:val", data_root=data_root)
    with pytest.raises(ValueError, match="either a split"):
        build_task(f"hm:dev=/{data_root}/hateful_memes/test_unseen.jsonl", data_root=data_root)


GENERAL = ("pope", "mme", "mmbench", "seed_bench", "scienceqa")


def test_the_general_ability_suite_loads_from_the_data_root_and_is_listed(tmp_path):
    from tests.harness.tasks.fixtures_mc_bench import build_mmbench, build_scienceqa, build_seed_bench
    from tests.harness.tasks.fixtures_yes_no import build_mme, build_pope

    for name, builder in zip(GENERAL, (build_pope, build_mme, build_mmbench, build_seed_bench, build_scienceqa)):
        builder(tmp_path / name)
    counts = {}
    for name in GENERAL:
        task = build_task(name, data_root=tmp_path)
        items = list(task.items())
        d = task.describe()
        assert d["items"] == len(items) > 0 and d["images_missing"] == 0 and d["metrics"]
        assert task.load_image(items[0]).mode == "RGB"
        assert all(CATEGORIES[name][1] in it.meta for it in items)  # the field `harness report` groups flips by
        for family in ("llava", "minigptv2", "blip2"):
            p = task.prompt(items[0], family, "options")
            assert len(p.continuations) == len(items[0].choices) and p.instruction
        counts[name] = len(items)
    out = io.StringIO()
    print_tasks(Console(file=out, width=250), tmp_path)
    for name in GENERAL:
        row = next(line for line in out.getvalue().splitlines() if f" {name} " in line)
        assert f" {counts[name]} " in row, row


PAPER_FIVE = ("aircraft", "eurosat", "counteranimal", "mmvp", "visonlyqa")


def test_the_papers_other_five_load_from_the_data_root_and_are_listed(tmp_path):
    """FGVC-Aircraft, EuroSAT, CounterAnimal, MMVP and VisOnlyQA in their default folders under one data root."""
    from tests.harness.tasks.fixtures_aircraft import build_aircraft
    from tests.harness.tasks.fixtures_counteranimal import build_counteranimal
    from tests.harness.tasks.fixtures_eurosat import build_eurosat
    from tests.harness.tasks.fixtures_mmvp import build_mmvp
    from tests.harness.tasks.fixtures_visonlyqa import build_visonlyqa

    build_aircraft(tmp_path)  # tmp_path/fgvc-aircraft-2013b/data
    for name, builder in (
        ("eurosat", build_eurosat),
        ("counteranimal", build_counteranimal),
        ("mmvp", build_mmvp),
        ("visonlyqa", build_visonlyqa),
    ):
        builder(tmp_path / name)
    counts = {}
    for name in PAPER_FIVE:
        task = build_task(name, data_root=tmp_path)
        items = list(task.items())
        d = task.describe()
        assert d["items"] == len(items) > 0 and d["images_missing"] == 0 and d["metrics"], name
        assert task.load_image(items[0]).mode == "RGB"
        if name in CATEGORIES:
            assert all(CATEGORIES[name][1] in it.meta for it in items), name
        for family in ("llava", "minigptv2", "blip2"):
            for style in ("options", "text"):
                p = task.prompt(items[0], family, style)
                assert len(p.continuations) == len(items[0].choices) and p.instruction
            assert task.generate_prompt(items[0], family)
        counts[name] = len(items)
    assert counts == {"aircraft": 12, "eurosat": 15, "counteranimal": 12, "mmvp": 14, "visonlyqa": 10}
    out = io.StringIO()
    print_tasks(Console(file=out, width=250), tmp_path)
    for name in PAPER_FIVE:
        row = next(line for line in out.getvalue().splitlines() if f" {name} " in line)
        assert f" {counts[name]} " in row, row

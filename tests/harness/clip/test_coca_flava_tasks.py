"""`harness eval --vlm clip` with CoCa and FLAVA on every captioned task (the six, ImageNet, FGVC-Aircraft, EuroSAT,
CounterAnimal) from one data root: each record's prediction and top-5 equal the families' own forward on the same
images and prompts, with the published tower and with a tuned tower swapped in by `--encoder` (which changes them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.clip.evaluate import class_space
from harness.eval.runner import EvalConfig, run_eval
from harness.tasks.registry import build_task
from tests.harness.clip import coca_flava_fixtures as shared
from tests.harness.clip.coca_flava_reference import CocaReference, FlavaReference
from tests.harness.tasks.fixtures import build_all_fixtures
from tests.harness.tasks.fixtures_aircraft import build_aircraft
from tests.harness.tasks.fixtures_counteranimal import build_counteranimal
from tests.harness.tasks.fixtures_eurosat import build_eurosat

coca_spec, flava_spec, colours = shared.coca_spec, shared.flava_spec, shared.colours  # session fixtures
TASKS = ("tsi", "gts", "dalle", "vizwiz", "vsr", "hm", "imagenet", "aircraft", "eurosat", "counteranimal")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    build_all_fixtures(root)
    build_aircraft(root)
    build_eurosat(root / "eurosat")
    build_counteranimal(root / "counteranimal")
    for i, wnid in enumerate(["n01440764", "n01443537"]):
        path = root / "imagenet" / "val" / wnid / f"ILSVRC2012_val_{i + 1:08d}.JPEG"
        path.parent.mkdir(parents=True)
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)
    return root


def _records(out: Path) -> dict[tuple[str, str], dict]:
    lines = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r for r in lines}


def _check_against(reference, res, out: Path, data_root: Path) -> dict[str, list[int]]:
    """Every task's records equal `reference(images, names, templates)`'s top-5; returns the predictions."""
    records, preds = _records(out), {}
    for key in TASKS:
        task = build_task(key, data_root=data_root)
        names, templates, labels = class_space(task)
        items = list(task.items())
        logits = reference([task.load_image(it) for it in items], names, templates)
        top = logits.topk(min(5, len(names)), dim=-1).indices.tolist()
        got = [records[(key, it.id)] for it in items]
        assert [r["top5"] for r in got] == top, key
        want = float(np.mean([t[0] == labels[it.id] for t, it in zip(top, items)]))
        assert res["tasks"][key]["metrics"]["top1"]["value"] == pytest.approx(want), key
        assert res["tasks"][key]["n"] == len(items) > 0 and res["tasks"][key]["classes"] == len(names)
        preds[key] = [t[0] for t in top]
    return preds


@pytest.mark.parametrize("family", ["coca", "flava"])
def test_every_captioned_task_equals_the_families_forward_before_and_after_a_swap(
    family, coca_spec, flava_spec, colours, data_root, tmp_path
):
    spec = coca_spec if family == "coca" else flava_spec
    tuned, _, export = shared.tune_once(spec, colours, tmp_path / "tune")
    if family == "coca":
        config, _, published = spec.removeprefix("open_clip:").partition("@")
        torch.save(tuned.net.state_dict(), tmp_path / "tuned.pt")
        base_ref, tuned_ref = CocaReference(config, published), CocaReference(config, str(tmp_path / "tuned.pt"))
    else:
        tuned.net.save_pretrained(tmp_path / "tuned", safe_serialization=True)
        base_ref = FlavaReference(spec.removeprefix("hf:"))
        tuned_ref = FlavaReference(str(tmp_path / "tuned"), processor_dir=spec.removeprefix("hf:"))

    def run(out: Path, encoder: str | None):
        cfg = EvalConfig(
            vlm="clip",
            model=spec,
            device="cpu",
            out=str(out),
            tasks=list(TASKS),
            data_root=str(data_root),
            encoder=encoder,
        )
        return run_eval(cfg, progress=False)

    base = _check_against(base_ref, run(tmp_path / "base", None), tmp_path / "base", data_root)
    swapped = _check_against(tuned_ref, run(tmp_path / "swap", str(export)), tmp_path / "swap", data_root)
    assert base != swapped

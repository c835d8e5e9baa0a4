"""FGVC-Aircraft through `harness eval`: LLaVA likelihood and generate runs, --choices, a missing image, CLIP
zero-shot, the `harness tasks` listing and one-line data errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.aircraft import build
from harness.tasks.answers import extract_letter
from harness.tasks.listing import print_tasks
from tests.harness.tasks.fixtures_aircraft import TEST, VARIANTS, build_aircraft


@pytest.fixture
def data(tmp_path):
    return build_aircraft(tmp_path / "root")


def _eval(args: list[str], out: Path) -> tuple[dict, list[dict]]:
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

"""Qwen2.5-VL through `harness eval` on its real-geometry model: recorded scores equal a plain forward at batch
sizes 1 and 8 with mixed image sizes in a batch, and `--mode generate` answers as the adapter's greedy decoding."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.adapters.registry import load_vlm
from harness.cli import app
from harness.eval.engine import Request, plain_forward_scores
from harness.tasks.base import open_rgb
from tests.conftest import random_image

OPTIONS = [("a red circle", "two dogs", "B"), ("café", "日本語", "🦙"), ("yes", "no"), ("0", "12", "2026", "3.14")]
SIZES = [(224, 224), (100, 30), (84, 140), (56, 56), (140, 84)]  # (width, height): 64, 4, 15, 4, 15 tokens


@pytest.fixture(scope="module")
def dirs(vocabularies, tmp_path_factory):
    from harness.toy.real_geometry_qwen import build_real_qwen

    base = build_real_qwen("qwen2_5_vl", tmp_path_factory.mktemp("qwen"), vocabularies)["model"]
    other = build_real_qwen("qwen2_5_vl", tmp_path_factory.mktemp("qwen_other"), vocabularies, seed=5)["model"]
    return base, other


def load(path):
    return load_vlm("qwen2_5_vl", str(path), "float32", "cpu")


@pytest.fixture(scope="module")
def mcq(tmp_path_factory):
    root = tmp_path_factory.mktemp("mcq")
    (root / "images").mkdir()
    rows = []
    for i in range(8):
        random_image(i).resize(SIZES[i % len(SIZES)]).save(root / "images" / f"q{i}.png")
        options = OPTIONS[i % len(OPTIONS)]
        rows.append({"id": f"q{i}", "image": f"images/q{i}.png", "question": f"Which one? ({i})",
                     "choices": list(options), "answer": i % len(options)})  # fmt: skip
    (root / "mcq.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return root / "mcq.jsonl"


def run(model, mcq, out, *extra: str) -> dict:
    args = ["eval", "--vlm", "qwen2_5_vl", "--model", str(model), "--tasks", f"mcq_jsonl={mcq}", "--device", "cpu"]
    res = CliRunner().invoke(app, [*args, "--out", str(out), "--quiet", *extra])
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())


def samples(out) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def adapter(dirs):
    return load(dirs[0])


def references(adapter, mcq, found: list[dict]) -> dict[str, list[float]]:
    """One plain forward per recorded option (the recorded prompt and continuations re-scored)."""
    out = {}
    for s in found:
        image = open_rgb(mcq.parent / "images" / f"{s['id']}.png")
        out[s["id"]] = plain_forward_scores(
            adapter, Request(s["id"], image, s["prompt"], tuple(s["continuations"]), "")
        )
    return out


def test_harness_eval_scores_equal_a_plain_forward(dirs, adapter, mcq, tmp_path):
    """Batch sizes 1 and 8 (all eight items, five image sizes, in one batch) record the same prompts, and every
    option log-prob equals the plain forward; the options style too."""
    runs = {}
    for bs in (1, 8):
        results = run(dirs[0], mcq, tmp_path / f"bs{bs}", "--batch-size", str(bs), "--prompt-style", "text")
        assert results["model"]["vlm"] == "qwen2_5_vl" and results["tasks"]["mcq_jsonl"]["n"] == 8
        runs[bs] = samples(tmp_path / f"bs{bs}")
    assert [s["prompt"] for s in runs[1]] == [s["prompt"] for s in runs[8]]
    ref = references(adapter, mcq, runs[1])
    for bs in (1, 8):
        for s in runs[bs]:
            assert s["logprobs"] == pytest.approx(ref[s["id"]], abs=1e-4), (bs, s["id"])
    run(dirs[0], mcq, tmp_path / "opt", "--batch-size", "8", "--prompt-style", "options", "--limit", "5")
    found = samples(tmp_path / "opt")
    ref = references(adapter, mcq, found)
    assert len(found) == 5 and all(s["logprobs"] == pytest.approx(ref[s["id"]], abs=1e-4) for s in found)


def test_generate_mode(dirs, adapter, mcq, tmp_path):
    run(dirs[0], mcq, tmp_path, "--mode", "generate", "--max-new-tokens", "3", "--batch-size", "4")
    found = samples(tmp_path)
    assert len(found) == 8 and all(isinstance(s["generation"], str) for s in found)
    s = found[2]
    image = open_rgb(mcq.parent / "images" / f"{s['id']}.png")
    assert s["generation"] == adapter.generate([image], [adapter.encode(s["prompt"], image)], 3)[0]

"""LLaVA-NeXT and LLaVA-OneVision (any-resolution tiling): the engine equals a plain forward per option."""

from __future__ import annotations

import pytest
import torch

from harness.eval.engine import Engine, Request, plain_forward_scores
from tests.adapters.tiny_families import build_tiny_llava_next, build_tiny_onevision
from tests.conftest import random_image
from tests.harness.eval.test_engine_exact import OPTIONS, QUESTIONS

SIZES = [(40, 40), (40, 90), (100, 30), (64, 64), (33, 70)]  # (width, height): 1x1+2x2, 1x2, 2x1 grids


def sized_image(i: int):
    return random_image(i, size=40).resize(SIZES[i % len(SIZES)])


@pytest.fixture(scope="module", params=["llava_onevision", "llava_next"])
def adapter(request, tmp_path_factory):
    if request.param == "llava_onevision":
        from adapters.llava_onevision import LlavaOnevisionAdapter as cls

        path = build_tiny_onevision(tmp_path_factory.mktemp("ov"))
    else:
        from adapters.llava_next import LlavaNextAdapter as cls

        path = build_tiny_llava_next(tmp_path_factory.mktemp("next"))
    return cls.load(str(path), device="cpu")


def make_requests(adapter, n: int) -> list[Request]:
    return [
        Request(
            f"item{i}",
            sized_image(i),
            adapter.format_prompt(QUESTIONS[i % 5] + (" " if i % 3 == 0 else "")),
            OPTIONS[i % 5],
            adapter.target_delimiter,
        )
        for i in range(n)
    ]


def test_ids_match_the_processor_for_every_image_size(adapter):
    text = adapter.format_prompt("What color is the shape?")
    counts = set()
    for i in range(len(SIZES)):
        im = sized_image(i)
        ref = adapter.processor(text=text, images=im, return_tensors="pt").input_ids[0].tolist()
        assert adapter.encode(text, im) == ref
        counts.add(ref.count(adapter.image_token_id))
    assert len(counts) >= 3  # the count really depends on the size
    with pytest.raises(ValueError, match="depends on the image size"):
        adapter.encode(text)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_engine_equals_plain_forward(adapter, batch_size):
    reqs = make_requests(adapter, 8)
    engine = Engine(adapter, batch_size=batch_size)
    got = engine.score(reqs)
    lengths = set()
    for req, scores in zip(reqs, got):
        ref = plain_forward_scores(adapter, req)
        for s, r in zip(scores, ref):
            assert abs(s.logprob - r) < 1e-4, (req.key, s.logprob, r)
            lengths.add(s.n_tokens)
    assert len(lengths) >= 3
    assert engine.forwards <= 2 * -(-len(reqs) // batch_size)


def test_plain_forward_reference_is_the_processor_forward(adapter):
    """The reference path itself: ids and pixels straight from the processor give the same logits."""
    req = make_requests(adapter, 2)[1]
    inputs = adapter.processor(text=req.context, images=req.image, return_tensors="pt")
    with torch.no_grad():
        ref = torch.log_softmax(adapter.model(**inputs).logits[0].float(), -1)
    got = adapter.full_logprobs(req.image, adapter.encode(req.context, req.image))
    assert (got - ref).abs().max() < 1e-5


def test_batched_generation_equals_one_at_a_time(adapter):
    reqs = make_requests(adapter, 4)
    ctxs = [adapter.encode(r.context, r.image) for r in reqs]
    assert len({len(c) for c in ctxs}) > 1
    batched = adapter.generate([r.image for r in reqs], ctxs, 5)
    assert batched == [adapter.generate([r.image], [c], 5)[0] for r, c in zip(reqs, ctxs)]


def test_describe_says_any_res(adapter):
    adapter.encode(adapter.format_prompt("x"), sized_image(1))
    info = adapter.describe()
    assert info["vlm"] == adapter.family and info["image_tokens"].startswith("per image size")
    assert "40x90" in info["image_tokens_by_size"]


SIX = ["tsi", "gts", "dalle", "vizwiz", "vsr", "hm"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from tests.tasks.fixtures import build_all_fixtures

    root = tmp_path_factory.mktemp("data")
    build_all_fixtures(root)
    return root


def test_six_tasks_through_the_cli_in_both_modes(adapter, data_root, tmp_path):
    import json

    from typer.testing import CliRunner

    from harness.cli import app

    common = [
        "--vlm",
        adapter.family,
        "--model",
        str(adapter.model_dir),
        "--device",
        "cpu",
        "--data-root",
        str(data_root),
        "--limit",
        "3",
        "--quiet",
    ]
    for style in ("options", "text"):
        res = CliRunner().invoke(
            app, ["eval", "--tasks", ",".join(SIX), "--prompt-style", style, "--out", str(tmp_path / style), *common]
        )
        assert res.exit_code == 0, res.output
        results = json.loads((tmp_path / style / "results.json").read_text())
        assert results["model"]["vlm"] == adapter.family
        assert all(results["tasks"][t]["n"] == 3 for t in SIX)
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "--tasks",
            "vizwiz,vsr",
            "--mode",
            "generate",
            "--max-new-tokens",
            "2",
            "--out",
            str(tmp_path / "gen"),
            *common,
        ],
    )
    assert res.exit_code == 0, res.output
    samples = [json.loads(x) for x in (tmp_path / "gen" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6 and all(isinstance(s["generation"], str) for s in samples)
    assert any("respond with 'Unanswerable'" in s["prompt"] for s in samples)

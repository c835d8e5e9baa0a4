"""The larger Gemma 4 models' mask (`use_bidirectional_attention="vision"`: an image's soft tokens see each other on
the sliding layers, inside the causal text mask) on the real-geometry model: the engine's left-padded batched prefill
and packed continuations still equal a plain forward within 1e-4, the bidirectional blocks do change the scores, and
`harness eval --mode generate` answers through it."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from harness.cli import app
from harness.eval.engine import Engine, Request
from harness.toy.real_geometry_gemma import build_gemma4
from tests.conftest import random_image
from tests.harness.adapters.test_gemma4_fixtures import ENTRY, gemma4_tok, plain_scores  # noqa: F401


@pytest.fixture(scope="module")
def bidir_dir(tmp_path_factory, gemma4_tok):  # noqa: F811
    out = tmp_path_factory.mktemp("gemma4_bidir")
    return build_gemma4(out, ENTRY, gemma4_tok, seed=3, text={"use_bidirectional_attention": "vision"})["model"]


@pytest.fixture(scope="module")
def bidir(bidir_dir):
    from harness.adapters.gemma4 import Gemma4Adapter

    return Gemma4Adapter.load(str(bidir_dir), dtype="float32", device="cpu")


def test_batched_scores_equal_a_plain_forward_with_bidirectional_images(bidir):
    assert bidir.model.config.get_text_config().use_bidirectional_attention == "vision"
    reqs = [
        Request(f"b{i}", random_image(i).resize(size), bidir.format_prompt(q), ("yes", "a red circle"), "")
        for i, (size, q) in enumerate([((224, 224), "Which?"), ((1024, 200), "Which one is it, really?")])
    ]
    got = Engine(bidir, batch_size=2).score(reqs)
    for req, scores in zip(reqs, got):
        assert [s.logprob for s in scores] == pytest.approx(plain_scores(bidir, req), abs=1e-4), req.key


@torch.inference_mode()
def test_the_image_blocks_are_bidirectional(bidir):
    image = random_image(4).resize((224, 224))
    ids = bidir.encode(bidir.format_prompt("Which?"), image)
    x = torch.tensor([ids])
    kw = {"input_ids": x, "attention_mask": torch.ones_like(x), **bidir.image_inputs([image])}
    with_blocks = bidir.model(mm_token_type_ids=(x == bidir.image_token_id).long(), **kw).logits[0, -1]
    causal_only = bidir.model(mm_token_type_ids=torch.zeros_like(x), **kw).logits[0, -1]
    assert (with_blocks - causal_only).abs().max() > 1e-3


def test_generate_mode_through_harness_eval(bidir_dir, bidir, tmp_path):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    rows = []
    for i, size in enumerate([(224, 224), (500, 375)]):
        random_image(i).resize(size).save(root / "images" / f"g{i}.png")
        rows.append({"id": f"g{i}", "image": f"images/g{i}.png", "question": "Which?", "choices": ["yes", "no"],
                     "answer": 0})  # fmt: skip
    (root / "mcq.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["eval", "--vlm", "gemma4", "--model", str(bidir_dir), "--tasks", f"mcq_jsonl={root / 'mcq.jsonl'}"]
    args += ["--mode", "generate", "--max-new-tokens", "3", "--device", "cpu", "--batch-size", "2"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0, res.output
    samples = [json.loads(x) for x in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert [s["id"] for s in samples] == ["g0", "g1"]
    images = [Image.open(root / "images" / f"g{i}.png").convert("RGB") for i in range(2)]
    want = bidir.generate(images, [bidir.encode(s["prompt"], im) for s, im in zip(samples, images)], 3)
    assert [s["generation"] for s in samples] == want and all(want)

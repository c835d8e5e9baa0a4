"""`harness eval` on the real-geometry Gemma 4 (prompts of 280+ tokens, longer than the shrunk sliding window of 128):
with batch sizes 1 and 8 and images of four sizes in one batch (a different patch count and soft-token count each),
every option log-prob equals one plain transformers forward within 1e-4 (fp32); the window in `extend`'s mask is
what makes it so."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.eval.engine import Engine, Request
from harness.tasks.base import open_rgb
from harness.toy.real_geometry_gemma import SHRUNK_WINDOW
from tests.conftest import random_image
from tests.harness.adapters.test_gemma4_fixtures import gemma4, gemma4_dir, gemma4_tok, plain_scores  # noqa: F401

SIZES = [(224, 224), (500, 375), (300, 420), (1024, 200)]
OPTIONS = [("yes", "no"), ("café", "🦙"), ("a red circle", "12")]


@pytest.fixture(scope="module")
def mcq(tmp_path_factory):
    root = tmp_path_factory.mktemp("gemma4_mcq")
    (root / "images").mkdir()
    rows = []
    for i in range(8):
        random_image(i).resize(SIZES[i % 4]).save(root / "images" / f"q{i}.png")
        rows.append({"id": f"q{i}", "image": f"images/q{i}.png", "question": f"Which one is it ({i})?",
                     "choices": list(OPTIONS[i % 3]), "answer": i % 2})  # fmt: skip
    (root / "mcq.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return root / "mcq.jsonl"


def run_eval(model, mcq, out, batch_size: int) -> list[dict]:
    args = ["eval", "--vlm", "gemma4", "--model", str(model), "--tasks", f"mcq_jsonl={mcq}", "--device", "cpu"]
    args += ["--batch-size", str(batch_size), "--out", str(out), "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def test_harness_eval_scores_equal_a_plain_forward(gemma4_dir, gemma4, mcq, tmp_path):  # noqa: F811
    one, eight = (run_eval(gemma4_dir, mcq, tmp_path / f"b{b}", b) for b in (1, 8))
    assert [s["id"] for s in one] == [s["id"] for s in eight] == [f"q{i}" for i in range(8)]
    for a, b in zip(one, eight):
        assert a["continuations"] == b["continuations"] and a["prompt"] == b["prompt"]
        assert a["logprobs"] == pytest.approx(b["logprobs"], abs=1e-4), a["id"]
    for s in one[:4]:  # the four image sizes (the reference is one full forward per option)
        image = open_rgb(mcq.parent / "images" / f"{s['id']}.png")
        assert len(gemma4.encode(s["prompt"], image)) > 2 * SHRUNK_WINDOW
        want = plain_scores(gemma4, Request(s["id"], image, s["prompt"], tuple(s["continuations"]), ""))
        assert s["logprobs"] == pytest.approx(want, abs=1e-4), s["id"]


def test_the_sliding_window_in_the_packed_mask_matters(gemma4, monkeypatch):  # noqa: F811
    image = random_image(5).resize((500, 375))
    req = Request("w", image, gemma4.format_prompt("Which one?"), ("a red circle", "two dogs on a couch"), "")
    want = plain_scores(gemma4, req)
    ours = [s.logprob for s in Engine(gemma4, batch_size=1).score([req])[0]]
    assert ours == pytest.approx(want, abs=1e-4)
    monkeypatch.setattr(gemma4, "window", 10**6)  # the packed options see the whole prefix on sliding layers
    unwindowed = [s.logprob for s in Engine(gemma4, batch_size=1).score([req])[0]]
    assert max(abs(a - b) for a, b in zip(unwindowed, want)) > 1e-3

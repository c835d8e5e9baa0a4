"""Checks every VLM family must pass, shared by the per-family test files: exact scoring against a plain
forward, batched generation, and the six tasks through the CLI in both modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.eval.engine import Engine, Request, plain_forward_scores
from tests.conftest import random_image
from tests.harness.eval.test_engine_exact import OPTIONS, QUESTIONS

SIZES = [(40, 40), (40, 90), (100, 30), (64, 64), (33, 70)]  # (width, height): 1x1+2x2, 1x2, 2x1 grids
SIX = ["tsi", "gts", "dalle", "vizwiz", "vsr", "hm"]


def sized_image(i: int):
    return random_image(i).resize(SIZES[i % len(SIZES)])


def family_requests(adapter, n: int, question: str = "{q}") -> list[Request]:
    """`n` items of the shared questions and options on images of several sizes; every third context ends
    in a space (the boundary rule moves it into the option)."""
    return [
        Request(
            f"item{i}",
            sized_image(i),
            adapter.format_prompt(question.format(q=QUESTIONS[i % 5]) + (" " if i % 3 == 0 else "")),
            OPTIONS[i % 5],
            adapter.target_delimiter,
        )
        for i in range(n)
    ]


def assert_engine_equals_plain(adapter, reqs: list[Request], batch_size: int, tol: float = 1e-4) -> None:
    """Every option's engine log-prob equals one plain forward per option; options of at least three token
    lengths were exercised; one prefill plus at most one extend forward per batch."""
    engine = Engine(adapter, batch_size=batch_size)
    lengths = set()
    for req, scores in zip(reqs, engine.score(reqs)):
        for s, r in zip(scores, plain_forward_scores(adapter, req)):
            assert abs(s.logprob - r) < tol, (req.key, s.logprob, r)
            lengths.add(s.n_tokens)
    assert len(lengths) >= 3
    assert engine.forwards <= 2 * -(-len(reqs) // batch_size)


def assert_batched_generation_equals_one_at_a_time(adapter) -> None:
    reqs = family_requests(adapter, 4)
    ctxs = [adapter.encode(r.context, r.image) for r in reqs]
    assert len({len(c) for c in ctxs}) > 1  # left padding was exercised
    batched = adapter.generate([r.image for r in reqs], ctxs, 5)
    assert batched == [adapter.generate([r.image], [c], 5)[0] for r, c in zip(reqs, ctxs)]


def six_tasks_through_the_cli(adapter, data_root: Path, out: Path, generate_tasks: str) -> list[dict[str, Any]]:
    """`harness eval` on the six tasks (3 items each) in both prompt styles, then `generate_tasks` in generate
    mode; returns the generated samples."""
    from typer.testing import CliRunner

    from harness.cli import app

    common = ["--vlm", adapter.family, "--model", str(adapter.model_dir), "--device", "cpu"]
    common += ["--data-root", str(data_root), "--limit", "3", "--quiet"]
    for style in ("options", "text"):
        args = ["eval", "--tasks", ",".join(SIX), "--prompt-style", style, "--out", str(out / style), *common]
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        results = json.loads((out / style / "results.json").read_text())
        assert results["model"]["vlm"] == adapter.family
        assert all(results["tasks"][t]["n"] == 3 for t in SIX)
    gen = ["eval", "--tasks", generate_tasks, "--mode", "generate", "--max-new-tokens", "2", "--out", str(out / "gen")]
    res = CliRunner().invoke(app, [*gen, *common])
    assert res.exit_code == 0, res.output
    samples = [json.loads(x) for x in (out / "gen" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 * len(generate_tasks.split(",")) and all(isinstance(s["generation"], str) for s in samples)
    return samples

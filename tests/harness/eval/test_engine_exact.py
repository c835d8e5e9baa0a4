"""The engine's per-option log-probs equal one plain forward per option of the unmodified model."""

from __future__ import annotations

import pytest
import torch

from harness.eval.engine import Engine, Request, plain_forward_scores, split_continuation
from tests.conftest import random_image

QUESTIONS = [
    "What color is the shape?",
    "Where is the shape?",
    "Is there a circle in the image?",
    "What kind of traffic sign is this?",
    "What is shown in the image?",
]
OPTIONS = [
    ("red", "dark green", "a blue triangle at the top", "yellow", ".star"),
    ("left", "right", "top", "bottom"),
    ("yes", "no"),
    ("stop", "speed limit (30km/h)", "give way", "no entry", "priority road"),
    ("A", "B", "C", "D"),
]


def make_requests(adapter, n: int) -> list[Request]:
    reqs = []
    for i in range(n):
        q, opts = QUESTIONS[i % 5], OPTIONS[i % 5]
        ctx = adapter.format_prompt(q + (" " if i % 3 == 0 else ""))
        reqs.append(Request(key=f"item{i}", image=random_image(i), context=ctx, continuations=opts))
    return reqs


def reference_scores(adapter, req: Request) -> list[float]:
    return plain_forward_scores(adapter, req)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_engine_equals_plain_forward(tiny_llava, batch_size):
    reqs = make_requests(tiny_llava, 10)
    engine = Engine(tiny_llava, batch_size=batch_size)
    got = engine.score(reqs)
    lengths = set()
    for req, scores in zip(reqs, got):
        ref = reference_scores(tiny_llava, req)
        for s, r in zip(scores, ref):
            assert abs(s.logprob - r) < 1e-4, (req.key, s.logprob, r)
            lengths.add(s.n_tokens)
    assert len(lengths) >= 3  # options of unequal token lengths were exercised
    # one prefill per batch, plus one extend per batch holding multi-token options
    assert engine.forwards <= 2 * -(-len(reqs) // batch_size)


def test_is_greedy_and_counts(tiny_llava):
    req = make_requests(tiny_llava, 1)[0]
    (scores,) = Engine(tiny_llava).score([req])
    for opt, s in zip(req.continuations, scores):
        ctx, cont = split_continuation(tiny_llava.encode, req.context, " " + opt)
        lp = tiny_llava.full_logprobs(req.image, ctx + cont)
        greedy = all(int(lp[len(ctx) - 1 + j].argmax()) == t for j, t in enumerate(cont))
        assert s.is_greedy == greedy
        assert s.n_tokens == len(cont) and s.n_chars == len(opt)


def test_single_token_options_need_no_extra_forward(tiny_llava):
    reqs = [
        Request(f"i{i}", random_image(i), tiny_llava.format_prompt("Pick a letter."), ("A", "B", "C", "D"))
        for i in range(4)
    ]
    ids = [split_continuation(tiny_llava.encode, reqs[0].context, " " + o)[1] for o in "ABCD"]
    assert all(len(x) == 1 for x in ids), ids
    engine = Engine(tiny_llava, batch_size=4)
    got = engine.score(reqs)
    assert engine.forwards == 1
    for req, scores in zip(reqs, got):
        ref = reference_scores(tiny_llava, req)
        assert max(abs(s.logprob - r) for s, r in zip(scores, ref)) < 1e-4


def test_prefix_ids_match_the_processor(tiny_llava):
    text = tiny_llava.format_prompt("What color is the shape?")
    ids = tiny_llava.processor(text=text, images=random_image(0), return_tensors="pt").input_ids[0].tolist()
    assert tiny_llava.encode(text) == ids


def test_nan_logits_raise_naming_the_item(tiny_llava, monkeypatch):
    from harness.eval.engine import NonFiniteScores

    original = tiny_llava.prefill

    def poisoned(images, contexts):
        p = original(images, contexts)
        p.last_logprobs = p.last_logprobs.clone()
        p.last_logprobs[1, 3] = float("nan")
        return p

    monkeypatch.setattr(tiny_llava, "prefill", poisoned)
    with pytest.raises(NonFiniteScores, match=r"item\(s\) item1 \(model dtype float32\).*--dtype bfloat16") as e:
        Engine(tiny_llava, batch_size=4).score(make_requests(tiny_llava, 3))
    assert e.value.exit_code == 2  # the user's precision or weights, not a harness bug


def test_auto_batch_size_halves_on_out_of_memory(tiny_llava, monkeypatch):
    original = tiny_llava.prefill
    sizes = []

    def limited(images, contexts):
        sizes.append(len(images))
        if len(images) > 2:
            raise torch.OutOfMemoryError("simulated")
        return original(images, contexts)

    monkeypatch.setattr(tiny_llava, "prefill", limited)
    reqs = make_requests(tiny_llava, 7)
    engine = Engine(tiny_llava, batch_size="auto")
    got = engine.score(reqs)
    assert engine.batch_size == 2 and len(got) == 7 and sizes[:3] == [7, 4, 2]
    for req, scores in zip(reqs, got):
        ref = reference_scores(tiny_llava, req)
        assert max(abs(s.logprob - r) for s, r in zip(scores, ref)) < 1e-4
    with pytest.raises(torch.OutOfMemoryError):  # a fixed batch size is the user's choice: no silent change
        Engine(tiny_llava, batch_size=4).score(reqs)


def test_batched_generation_equals_one_at_a_time(tiny_llava):
    reqs = make_requests(tiny_llava, 4)  # prompts of different lengths: left padding is exercised
    ctxs = [tiny_llava.encode(r.context) for r in reqs]
    assert len({len(c) for c in ctxs}) > 1
    batched = tiny_llava.generate([r.image for r in reqs], ctxs, 6)
    assert batched == [tiny_llava.generate([r.image], [c], 6)[0] for r, c in zip(reqs, ctxs)]

"""Half precision: the engine's scores equal a plain half forward of the same model within a derived bound.

In bf16/fp16 the engine and a plain forward are the same function evaluated with different rounding: left
padding, batching and concatenating the prefix cache with the packed options change the order of reductions
(attention softmax sums, matmul accumulation), so bit equality is not expected. Both paths turn the logits
into fp32 before the log-softmax and sum option tokens in fp32/fp64, so the only half-precision error is in
the network itself. The tolerance for one option of n tokens is

    tol = E + n * u * L

- E: the plain half forward's own worst error against the fp32 forward over the items scored here. It
  measures how far half-precision rounding moves an option's score on this model; a second evaluation
  order of the same half computation is a rounding perturbation of that size.
- n * u * L: each token's log-prob is z_t - logsumexp(z) read from logits rounded to the half format, so a
  different rounding path can move it by up to one rounding of the largest logit, u * max|z|, per token
  (u = 2^-8 for bf16, 2^-11 for fp16; L = max |logit| of the model on these items).

Also: the engine's error against fp32 is no worse than 1.5x the plain half forward's (max and mean), and
the engine picks the plain forward's option except where the plain forward's top-two margin is within the
tolerance (a near tie that rounding may flip either way).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from harness.adapters.llava import LlavaAdapter
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.tasks.registry import build_task
from harness.toy.build import MODELS_DIR, PROMPT_STYLE
from tests.harness.eval.half_bounds import assert_fp32_log_probs, assert_within_derived_bound

ITEMS_PER_TASK = 40  # of 400 per task: keeps both dtypes under a minute on 2 CPU cores


def toy_requests(adapter: LlavaAdapter, n: int) -> list[Request]:
    out = []
    for name in ("toy_control", "toy_target"):
        task = build_task(name)
        for it in itertools.islice(task.items(), n):
            p = task.prompt(it, adapter.family, PROMPT_STYLE)
            out.append(
                Request(
                    f"{name}/{it.id}",
                    task.load_image(it),
                    adapter.format_prompt(p.instruction),
                    p.continuations,
                    adapter.target_delimiter,
                )
            )
    return out


def load(dtype: str) -> LlavaAdapter:
    return LlavaAdapter.load(str(MODELS_DIR / "llava"), dtype=dtype, device="cpu")


@pytest.fixture(scope="module")
def fp32_reference():
    adapter = load("float32")
    reqs = toy_requests(adapter, ITEMS_PER_TASK)
    return reqs, [plain_forward_scores(adapter, r) for r in reqs]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_engine_equals_plain_half_forward_within_derived_bound(dtype, fp32_reference):
    reqs, ref = fp32_reference
    adapter = load(dtype)
    assert adapter.dtype == getattr(torch, dtype)
    plain = [plain_forward_scores(adapter, r) for r in reqs]
    engine = Engine(adapter, batch_size=16).score(reqs)
    assert_within_derived_bound(adapter, dtype, reqs, ref, plain, engine)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_models_hand_the_engine_fp32_log_probs(dtype):
    """The log-softmax runs on fp32 logits: a half log-softmax would round every log-prob to 8 (11) bits."""
    adapter = load(dtype)
    assert_fp32_log_probs(adapter, dtype, toy_requests(adapter, 1)[0])

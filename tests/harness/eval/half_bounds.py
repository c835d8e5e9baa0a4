"""The half-precision bound shared by the engine's half tests (derivation: `test_engine_half`'s docstring).

For one option of n tokens the engine's half score may differ from the plain half forward's by
tol = E + n * u * L (E: the plain half forward's worst error against fp32 on these items; u: the format's unit
roundoff; L: the largest |logit| on these items)."""

from __future__ import annotations

import torch

from harness.adapters.base import VLMAdapter
from harness.eval.engine import OptionScore, Request, split_continuation
from harness.tasks.metrics import argmax_first

UNIT_ROUNDOFF = {"bfloat16": 2.0**-8, "float16": 2.0**-11}


def max_abs_logit(adapter: VLMAdapter, reqs: list[Request]) -> float:
    """L: max |logit| of one plain forward of each request's context and first option."""
    top = 0.0
    with torch.inference_mode():
        for r in reqs:
            encode = lambda text, image=r.image: adapter.encode(text, image)  # noqa: E731
            ctx, cont = split_continuation(encode, r.context, r.delimiter + r.continuations[0])
            logits = adapter.train_logits([r.image], [ctx + cont], [len(ctx)])
            top = max(top, float(logits.abs().max()))
    return top


def assert_within_derived_bound(
    adapter: VLMAdapter,
    dtype: str,
    reqs: list[Request],
    ref: list[list[float]],
    plain: list[list[float]],
    engine: list[list[OptionScore]],
) -> float:
    """The engine's half scores `engine` against the plain half forward's `plain` and the fp32 forward's `ref`:
    within tol per option, no worse than 1.5x the plain forward's error against fp32 (max and sum), picks equal
    except at near ties (at most a tenth of the items). Returns E."""
    n_tokens = [[s.n_tokens for s in ss] for ss in engine]
    got = [[s.logprob for s in ss] for ss in engine]

    err_plain = [abs(p - f) for ps, fs in zip(plain, ref) for p, f in zip(ps, fs)]
    err_engine = [abs(g - f) for gs, fs in zip(got, ref) for g, f in zip(gs, fs)]
    e_max = max(err_plain)
    assert 0 < e_max < 1.0  # half precision does change scores here, and not wildly
    per_token = UNIT_ROUNDOFF[dtype] * max_abs_logit(adapter, reqs)

    tols = [[e_max + n * per_token for n in ns] for ns in n_tokens]
    for req, gs, ps, ts in zip(reqs, got, plain, tols):
        for k, (g, p, t) in enumerate(zip(gs, ps, ts)):
            assert abs(g - p) <= t, (req.key, k, g, p, t)

    assert max(err_engine) <= 1.5 * e_max, (max(err_engine), e_max)
    assert sum(err_engine) <= 1.5 * sum(err_plain), (sum(err_engine), sum(err_plain))

    flips = 0
    for req, gs, ps, ts in zip(reqs, got, plain, tols):
        pick_e, pick_p = argmax_first(gs), argmax_first(ps)
        if pick_e != pick_p:
            flips += 1
            margin = ps[pick_p] - ps[pick_e]
            assert margin <= max(ts[pick_p], ts[pick_e]), (req.key, margin, ps, gs)
    assert flips <= len(reqs) // 10  # near ties are rare; many flips would mean a real divergence
    return e_max


def assert_fp32_log_probs(adapter: VLMAdapter, dtype: str, req: Request) -> None:
    """Prefill and extend hand back fp32 log-probs at fp32 resolution (not all representable in `dtype`): a half
    log-softmax would round every log-prob to 8 (11) bits."""
    prefix = adapter.prefill([req.image], [adapter.encode(req.context, req.image)])
    assert prefix.last_logprobs.dtype == torch.float32
    ids = torch.tensor([[5, 6]])
    lp = adapter.extend(prefix, torch.tensor([0]), ids, torch.tensor([[0, 1]]), torch.ones(1, 2, 2).tril().bool())
    assert lp.dtype == torch.float32
    assert not torch.equal(lp, lp.to(getattr(torch, dtype)).float())

"""`--dtype original` on CPU: ViT fp32 under fp16 autocast, LLM fp16, LoRA and llama_proj fp32, as released.

The released model computes in fp16 (10 mantissa bits), so its scores should sit no further from the fp32
model's than a bf16 run's (7 mantissa bits) do.
"""

from __future__ import annotations

import pytest
import torch

from harness.adapters.minigptv2 import MiniGPTv2Adapter
from harness.eval.engine import Engine, plain_forward_scores
from harness.toy.tiny_minigptv2 import build_tiny_minigptv2
from tests.harness.eval.test_engine_exact import make_requests

N_ITEMS = 20


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return build_tiny_minigptv2(tmp_path_factory.mktemp("mgv2_dtype"))


def load(files, dtype: str) -> MiniGPTv2Adapter:
    return MiniGPTv2Adapter.load(
        str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]), dtype=dtype, device="cpu"
    )


@pytest.fixture(scope="module")
def scores(files):
    """Per dtype: (engine scores, plain forward scores), flattened over options."""
    out = {}
    for dtype in ("float32", "bfloat16", "original"):
        adapter = load(files, dtype)
        reqs = make_requests(adapter, N_ITEMS)
        engine = [s.logprob for ss in Engine(adapter, batch_size=8).score(reqs) for s in ss]
        plain = [x for r in reqs for x in plain_forward_scores(adapter, r)]
        out[dtype] = (engine, plain)
    return out


def test_original_keeps_the_released_dtypes_and_autocasts_the_vit_on_cpu(files):
    adapter = load(files, "original")
    params = dict(adapter.model.named_parameters())
    assert all(p.dtype == torch.float32 for n, p in params.items() if n.startswith("visual_encoder."))
    assert all(p.dtype == torch.float32 for n, p in params.items() if "lora_" in n or n.startswith("llama_proj."))
    assert all(p.dtype == torch.float16 for n, p in params.items() if n.startswith("llama_model.") and "lora_" not in n)
    seen = []
    fc1 = adapter.model.visual_encoder.encoder.layers[0].mlp.fc1
    handle = fc1.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        req = make_requests(adapter, 1)[0]
        adapter.prefill([req.image], [adapter.encode(req.context)])
    finally:
        handle.remove()
    assert seen == [torch.float16]  # fp32 weights, fp16 matmul: autocast is on


def test_original_is_no_further_from_fp32_than_bf16(scores):
    ref = scores["float32"][1]
    for path in (0, 1):  # the engine and the plain forward
        err = {d: [abs(a - b) for a, b in zip(scores[d][path], ref)] for d in ("bfloat16", "original")}
        assert max(err["original"]) <= max(err["bfloat16"]), err
        assert sum(err["original"]) <= sum(err["bfloat16"]), err
        assert max(err["original"]) > 0  # fp16 really ran: not the fp32 model under another name


def test_original_engine_is_as_close_to_fp32_as_its_plain_forward(scores):
    """As in tests/harness/eval/test_engine_half.py: the engine's worst error against fp32 is at most 1.5x the
    plain forward's (so |engine - plain| <= 2.5x the plain forward's own error)."""
    engine, plain = scores["original"]
    ref = scores["float32"][1]
    e_plain = max(abs(p - f) for p, f in zip(plain, ref))
    assert max(abs(g - f) for g, f in zip(engine, ref)) <= 1.5 * e_plain

"""Attention implementations: sdpa and eager score exactly through the engine's 4D mask; others are refused."""

from __future__ import annotations

import pytest

from harness.adapters.attention import UnsupportedAttention, check_attn_implementation, model_attn_implementation
from harness.adapters.llava import LlavaAdapter
from harness.adapters.minigptv2 import MiniGPTv2Adapter
from harness.eval.engine import Engine, plain_forward_scores
from harness.toy.tiny_minigptv2 import build_tiny_minigptv2
from tests.harness.eval.test_engine_exact import make_requests


@pytest.fixture(scope="module")
def mgv2_files(tmp_path_factory):
    return build_tiny_minigptv2(tmp_path_factory.mktemp("mgv2_attn"))


def load(family: str, impl: str, llava_dir, mgv2_files):
    if family == "llava":
        return LlavaAdapter.load(str(llava_dir), device="cpu", attn_implementation=impl)
    f = mgv2_files
    return MiniGPTv2Adapter.load(
        str(f["model"]), str(f["minigptv2_ckpt"]), str(f["eva_ckpt"]), device="cpu", attn_implementation=impl
    )


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
@pytest.mark.parametrize("family", ["llava", "minigptv2"])
def test_engine_equals_plain_forward(family, impl, tiny_llava_dir, mgv2_files):
    adapter = load(family, impl, tiny_llava_dir, mgv2_files)
    assert model_attn_implementation(adapter.model.llama_model if family == "minigptv2" else adapter.model) == impl
    reqs = make_requests(adapter, 6)
    for req, scores in zip(reqs, Engine(adapter, batch_size=3).score(reqs)):
        ref = plain_forward_scores(adapter, req)
        assert max(abs(s.logprob - r) for s, r in zip(scores, ref)) < 1e-4, (impl, req.key)


@pytest.mark.parametrize("impl", ["flash_attention_2", "flash_attention_3", "flex_attention", "paged|eager", "x"])
def test_load_refuses_implementations_that_cannot_take_the_mask(impl, tiny_llava_dir, mgv2_files):
    for family in ("llava", "minigptv2"):
        with pytest.raises(UnsupportedAttention, match=f"attn_implementation={impl!r}"):
            load(family, impl, tiny_llava_dir, mgv2_files)


def test_extend_refuses_a_model_switched_after_loading(tiny_llava, monkeypatch):
    """A model built elsewhere (or switched with set_attn_implementation) is checked at every extend."""
    import harness.adapters.hf_cache as hf_cache

    reqs = make_requests(tiny_llava, 2)
    monkeypatch.setattr(hf_cache, "model_attn_implementation", lambda model: "flash_attention_2")
    with pytest.raises(UnsupportedAttention, match="FlashAttention kernels take only a 2D padding mask"):
        Engine(tiny_llava).score(reqs)


def test_default_is_sdpa():
    assert check_attn_implementation(None) == "sdpa"

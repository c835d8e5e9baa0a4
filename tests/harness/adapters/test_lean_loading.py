"""Lean loading: the LLM is read from disk straight into its target dtype (never an fp32 copy first).

Peak host memory is measured by benchmarks/bench_load.py; here the loaders' requests and results are checked.
"""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM, LlavaForConditionalGeneration

from harness.adapters.llava import LlavaAdapter
from harness.adapters.minigptv2 import MiniGPTv2Adapter
from harness.toy.tiny_minigptv2 import build_tiny_minigptv2


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return build_tiny_minigptv2(tmp_path_factory.mktemp("mgv2_lean"))


def spy_from_pretrained(monkeypatch, cls) -> list[torch.dtype]:
    requested: list[torch.dtype] = []
    original = cls.from_pretrained.__func__

    def spy(klass, *args, **kwargs):
        requested.append(kwargs.get("dtype"))
        return original(klass, *args, **kwargs)

    monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    return requested


@pytest.mark.parametrize(
    "dtype, llm, rest, lora",
    [
        ("bfloat16", torch.bfloat16, torch.bfloat16, torch.bfloat16),
        ("float16", torch.float16, torch.float16, torch.float16),
        ("original", torch.float16, torch.float32, torch.float32),
    ],
)
def test_minigptv2_reads_the_llm_in_its_target_dtype(files, monkeypatch, dtype, llm, rest, lora):
    requested = spy_from_pretrained(monkeypatch, LlamaForCausalLM)
    adapter = MiniGPTv2Adapter.load(
        str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]), dtype=dtype, device="cpu"
    )
    assert requested == [llm]
    for name, p in adapter.model.named_parameters():
        want = lora if "lora_" in name else llm if name.startswith("llama_model.") else rest
        assert p.dtype == want, (name, p.dtype, want)
    rotary = adapter.model.llm.model.rotary_emb.inv_freq
    assert rotary.dtype == torch.float32  # as transformers keeps it in a half model


def test_llava_reads_in_its_target_dtype(tiny_llava_dir, monkeypatch):
    requested = spy_from_pretrained(monkeypatch, LlavaForConditionalGeneration)
    adapter = LlavaAdapter.load(str(tiny_llava_dir), dtype="bfloat16", device="cpu")
    assert requested == [torch.bfloat16]
    assert {p.dtype for p in adapter.model.parameters()} == {torch.bfloat16}


def test_minigptv2_half_load_equals_the_fp32_load_cast(files):
    """Built and filled in bf16 directly (ViT before the LLM, no fp32 copy), every tensor equals loading in
    fp32 and casting afterwards: each weight is rounded once either way."""
    paths = (str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]))
    half = MiniGPTv2Adapter.load(*paths, dtype="bfloat16", device="cpu").model.state_dict()
    full = MiniGPTv2Adapter.load(*paths, dtype="float32", device="cpu").model.state_dict()
    assert half.keys() == full.keys()
    for k, v in full.items():
        want = v.to(torch.bfloat16) if v.is_floating_point() and half[k].dtype == torch.bfloat16 else v
        assert half[k].dtype == want.dtype and torch.equal(half[k], want), k


def test_the_vit_is_built_blank_and_filled_entirely_from_the_eva_file(files):
    from transformers import Blip2VisionConfig

    from harness.adapters.minigptv2_model import blank_vision_tower

    blank = blank_vision_tower(
        Blip2VisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1), torch.bfloat16
    )
    for name, p in blank.named_parameters():
        want = 1.0 if name == "post_layernorm.weight" else 0.0
        assert p.dtype == torch.bfloat16 and bool((p == want).all()), name
    vision = MiniGPTv2Adapter.load(
        str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]), dtype="bfloat16", device="cpu"
    ).model.visual_encoder
    blank_left = [n for n, p in vision.named_parameters() if not n.startswith("post_layernorm.") and not p.any()]
    assert blank_left == []  # no tensor kept the blank tower's zeros

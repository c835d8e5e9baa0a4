"""Half precision on Qwen2.5-VL, Qwen3-VL and Gemma 4: the engine's bf16/fp16 scores equal a plain half forward of
the same model within the derived bound of `test_engine_half` (tol = E + n*u*L, the engine's error against fp32
no worse than 1.5x the plain half forward's, picks equal except at near ties; `half_bounds`), and the half models
hand the engine fp32 log-probs. Real-geometry models (published configs shrunk, real vocabularies), one build per
family; images of mixed sizes in one batch; 4-5 options of 1-4 tokens."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.base import VLMAdapter
from harness.adapters.registry import load_vlm
from harness.eval.engine import Engine, Request
from tests.conftest import random_image
from tests.harness.adapters.test_gemma4_fixtures import plain_scores as gemma4_plain_scores
from tests.harness.eval.half_bounds import assert_fp32_log_probs, assert_within_derived_bound

FAMILIES = ("qwen2_5_vl", "qwen3_vl", "gemma4")
DTYPES = ("bfloat16", "float16")
SIZES = [(56, 56), (100, 30), (84, 140), (64, 48)]  # (width, height): mixed token counts in one batch
QUESTIONS = ["What is shown?", "Wie viele Äpfel?", "この写真は何ですか", "Which colour is it?"]
OPTIONS = [
    ("A", "B", "C", "D"),
    ("red", "green", "blue", "yellow", "black"),
    ("a red circle", "two dogs", "café", "none"),
    ("0", "12", "2026", "3.14", "yes"),
]
N_REQUESTS = 4


@pytest.fixture(scope="module")
def model_dir(vocabularies, tmp_path_factory):
    """family -> its real-geometry model folder, built on first use."""
    built = {}

    def get(family: str):
        if family not in built:
            out = tmp_path_factory.mktemp(family)
            if family == "gemma4":
                from harness.toy.gguf_tokenizer import load_gguf_tokenizer
                from harness.toy.published_gemma import PUBLISHED_GEMMA
                from harness.toy.real_geometry_gemma import build_gemma4
                from tests.conftest import TOKENIZERS

                pub = PUBLISHED_GEMMA["gemma4"]
                # 70 soft tokens per image instead of the published 280: a quarter of the CPU time, same model
                entry = {**pub, "image_processor": {**pub["image_processor"], "max_soft_tokens": 70}}
                entry["processor"] = {**pub["processor"], "image_seq_length": 70}
                tok = load_gguf_tokenizer(TOKENIZERS / "ggml-vocab-gemma-4.gguf")
                built[family] = build_gemma4(out, entry, tok, seed=0)["model"]
            else:
                from harness.toy.real_geometry_qwen import build_real_qwen

                built[family] = build_real_qwen(family, out, vocabularies)["model"]
        return built[family]

    return get


@pytest.fixture(scope="module")
def adapters(model_dir):
    """(family, dtype) -> the adapter loaded through the harness's loader, once each."""
    loaded: dict[tuple[str, str], VLMAdapter] = {}

    def get(family: str, dtype: str) -> VLMAdapter:
        if (family, dtype) not in loaded:
            loaded[family, dtype] = load_vlm(family, str(model_dir(family)), dtype, "cpu")
        return loaded[family, dtype]

    return get


def requests(adapter: VLMAdapter) -> list[Request]:
    out = []
    for i in range(N_REQUESTS):
        image = random_image(i, 64).resize(SIZES[i % len(SIZES)])
        context = adapter.format_prompt(QUESTIONS[i % len(QUESTIONS)])
        out.append(Request(f"q{i}", image, context, OPTIONS[i % len(OPTIONS)], adapter.target_delimiter))
    return out


def plain_of(family: str, adapter: VLMAdapter, req: Request) -> list[float]:
    """One plain transformers forward per option (no cache, padding or batching), the head (151k / 262k rows)
    applied to the option positions only (`logits_to_keep`: the head is per position, so the scores are the
    full forward's; most of this file's CPU time otherwise). For Qwen-VL the model computes its own M-RoPE
    positions from the token types, as in `full_logprobs`."""
    return gemma4_plain_scores(adapter, req)


@pytest.fixture(scope="module")
def fp32_reference(adapters):
    """family -> (requests, the fp32 plain forward's scores), once each."""
    cache = {}

    def get(family: str):
        if family not in cache:
            adapter = adapters(family, "float32")
            reqs = requests(adapter)
            cache[family] = reqs, [plain_of(family, adapter, r) for r in reqs]
        return cache[family]

    return get


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_half_engine_equals_plain_half_forward_within_derived_bound(family, dtype, adapters, fp32_reference):
    reqs, ref = fp32_reference(family)
    adapter = adapters(family, dtype)
    assert adapter.dtype == getattr(torch, dtype)
    counts = {len(adapter.encode(r.context, r.image)) for r in reqs}
    assert len(counts) >= 3  # the mixed image sizes give prompts of different lengths (left padding in a batch)
    plain = [plain_of(family, adapter, r) for r in reqs]
    engine = Engine(adapter, batch_size=N_REQUESTS).score(reqs)
    # the options' 1-4 tokens, plus the prompt's trailing newline that lm-eval's rule moves into each option
    assert len({s.n_tokens for ss in engine for s in ss}) >= 3
    assert_within_derived_bound(adapter, dtype, reqs, ref, plain, engine)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("family", FAMILIES)
def test_half_models_hand_the_engine_fp32_log_probs(family, dtype, adapters):
    adapter = adapters(family, dtype)
    assert_fp32_log_probs(adapter, dtype, requests(adapter)[0])

"""The real-geometry Gemma 4 the test_gemma4* files share (built once per session: the real vocabulary takes a few
seconds to read) and the cheap plain-forward reference they score against."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.eval.engine import Request, split_continuation
from harness.toy.gguf_tokenizer import load_gguf_tokenizer
from harness.toy.published_gemma import PUBLISHED_GEMMA
from harness.toy.real_geometry_gemma import build_gemma4
from tests.conftest import TOKENIZERS

GGUF = TOKENIZERS / "ggml-vocab-gemma-4.gguf"
ENTRY = PUBLISHED_GEMMA["gemma4"]


@pytest.fixture(scope="session")
def gemma4_tok():
    return load_gguf_tokenizer(GGUF)


@pytest.fixture(scope="session")
def gemma4_dir(tmp_path_factory, gemma4_tok) -> Path:
    return build_gemma4(tmp_path_factory.mktemp("gemma4"), ENTRY, gemma4_tok, seed=0)["model"]


@pytest.fixture(scope="session")
def gemma4(gemma4_dir):
    from harness.adapters.gemma4 import Gemma4Adapter

    return Gemma4Adapter.load(str(gemma4_dir), dtype="float32", device="cpu")


@torch.inference_mode()
def plain_scores(adapter, req: Request) -> list[float]:
    """One plain forward of context + option per option (no cache, no padding, no batching, the unmodified model),
    its head applied to the last positions only (`logits_to_keep`): the option tokens' summed log-probs."""
    out = []
    for opt in req.continuations:
        ctx, cont = split_continuation(lambda text: adapter.encode(text, req.image), req.context, req.delimiter + opt)
        x = torch.tensor([ctx + cont])
        logits = adapter.model(
            input_ids=x,
            attention_mask=torch.ones_like(x),
            mm_token_type_ids=(x == adapter.image_token_id).long(),
            logits_to_keep=len(cont) + 1,
            **adapter.image_inputs([req.image]),
        ).logits[0]
        lp = torch.log_softmax(logits.float(), dim=-1)
        out.append(sum(float(lp[j, t]) for j, t in enumerate(cont)))
    return out

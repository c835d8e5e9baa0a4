"""Qwen3-VL on its real-geometry model (`real_geometry_qwen`, published config shrunk, Qwen2 vocabulary): prompt ids
and image-token counts are the processor's, continuation positions under interleaved M-RoPE are the plain
forward's, and the engine (DeepStack features in the prefill) equals a plain forward per option."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from lm_eval.models.huggingface import HFLM
from PIL import Image

from harness.adapters.mrope import extend_positions, token_types
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.toy.published_qwen3 import QWEN3_VL
from tests.conftest import random_image
from tests.harness.adapters.family_checks import assert_batched_generation_equals_one_at_a_time

# (width, height): 224x224 8x8 tokens; the others are scaled up to min_pixels (256 x 256): 3x25, 7x10, 10x7
SIZES = [(224, 224), (100, 30), (220, 300), (300, 200)]
QUESTIONS = ["What is shown in this image?", "Wie viele Äpfel? 3 oder 4", "この写真は日本ですか", "Line one\nline two:"]
OPTIONS = [("a red circle", "two dogs on a couch", "B"), ("café", "日本語", "🦙"), (" spaced", "none"), ("0", "2026")]


@pytest.fixture(scope="module")
def qwen3_dir(vocabularies, tmp_path_factory):
    from harness.toy.real_geometry_qwen import build_real_qwen

    return build_real_qwen("qwen3_vl", tmp_path_factory.mktemp("qwen3_vl"), vocabularies)["model"]


@pytest.fixture(scope="module")
def adapter(qwen3_dir):
    from harness.adapters.registry import load_vlm

    return load_vlm("qwen3_vl", str(qwen3_dir), "float32", "cpu")


def test_the_config_keeps_the_published_values(qwen3_dir):
    built = json.loads((qwen3_dir / "config.json").read_text())
    pub = QWEN3_VL["config"]
    assert all(built[k] == v for k, v in pub.items() if not isinstance(v, dict) and k != "model_type")
    sizes = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads"}
    sizes |= {"depth", "num_heads", "out_hidden_size"}
    text, vision = built["text_config"], built["vision_config"]
    moved = {"rope_theta", "mrope_section", "mrope_interleaved"}  # transformers 5 keeps them in rope_parameters
    assert [k for k, v in pub["text_config"].items() if k not in sizes | moved and text[k] != v] == []
    assert [k for k, v in pub["vision_config"].items() if k not in sizes and vision[k] != v] == [
        "deepstack_visual_indexes"
    ]
    assert vision["deepstack_visual_indexes"] == [1, 2, 3] and vision["depth"] == 4
    rope = text["rope_parameters"]
    assert (rope["rope_theta"], rope["mrope_section"], rope["mrope_interleaved"]) == (5000000, [24, 20, 20], True)
    assert text["head_dim"] == 128 and text["num_key_value_heads"] < text["num_attention_heads"]


def test_prompt_ids_and_counts_equal_the_processors(adapter):
    processor = adapter.processor
    assert adapter.format_prompt(QWEN3_VL["example"]["question"]) == QWEN3_VL["example"]["prompt"]
    assert adapter.tokenizer.convert_tokens_to_ids("<|image_pad|>") == adapter.image_token_id == 151655
    for i, q in enumerate(QUESTIONS):
        prompt = adapter.format_prompt(q)
        conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
        assert prompt == processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        im = random_image(i).resize(SIZES[i % len(SIZES)])
        assert (
            adapter.encode(prompt, im) == processor(text=prompt, images=im, return_tensors="pt").input_ids[0].tolist()
        )
    for (w, h), n in QWEN3_VL["image_tokens"].items():  # hand-computed from the resize rule (published_qwen3)
        grid = processor.image_processor([Image.new("RGB", (w, h))], return_tensors="pt")["image_grid_thw"]
        assert adapter.image_token_count(Image.new("RGB", (w, h))) == n == int(grid.prod()) // 4


def test_continuations_equal_lm_evals(adapter):
    lm = HFLM(pretrained=adapter.model, tokenizer=copy.deepcopy(adapter.tokenizer), backend="causal", batch_size=1)
    engine = Engine(adapter, batch_size=1)
    image = random_image(3).resize((224, 224))
    for q in ("What is shown in this image?", "Which one? ", "Zählen Sie:\n"):
        context = adapter.format_prompt(q)
        for options in OPTIONS:
            _, ours = engine.tokenize(Request("x", image, context, options, ""))
            assert ours == [lm._encode_pair(context, o)[1] for o in options], (repr(q), options)


def _requests(adapter, n: int) -> list[Request]:
    return [
        Request(
            f"item{i}",
            random_image(i).resize(SIZES[i % len(SIZES)]),
            adapter.format_prompt(QUESTIONS[i % len(QUESTIONS)] + (" " if i % 3 == 0 else "")),
            OPTIONS[i % len(OPTIONS)],
            "",
        )
        for i in range(n)
    ]


def test_extend_gives_continuations_the_plain_forwards_positions(adapter):
    reqs = _requests(adapter, 4)
    contexts = [adapter.encode(r.context, r.image) for r in reqs]
    prefix = adapter.prefill([r.image for r in reqs], contexts)
    rows = torch.tensor([3, 0, 2, 2, 1])
    got = extend_positions(prefix, rows, torch.tensor([[0, 1]] * len(rows)))
    for r, row in enumerate(rows.tolist()):
        full = torch.tensor([contexts[row] + [11, 22]])
        grid = adapter.image_inputs([reqs[row].image])["image_grid_thw"]
        want, delta = adapter.model.model.get_rope_index(full, token_types(full, 151655), image_grid_thw=grid)
        assert torch.equal(got[:, r], want[:, 0, -2:]) and int(delta) == int(prefix.rope_deltas[row]) != 0


@pytest.fixture(scope="module")
def reference(adapter):
    reqs = _requests(adapter, 8)
    return reqs, [plain_forward_scores(adapter, r) for r in reqs]


@pytest.mark.parametrize("batch_size", [1, 8])
def test_engine_equals_plain_forward_with_mixed_sizes(adapter, reference, batch_size):
    reqs, refs = reference
    engine = Engine(adapter, batch_size=batch_size)
    for req, scores, ref in zip(reqs, engine.score(reqs), refs):
        for s, r in zip(scores, ref):
            assert abs(s.logprob - r) < 1e-4, (req.key, s.logprob, r)
    assert engine.forwards <= 2 * -(-len(reqs) // batch_size)


def test_batched_generation_equals_one_at_a_time(adapter):
    assert_batched_generation_equals_one_at_a_time(adapter)
    info = adapter.describe()
    assert info["vlm"] == "qwen3_vl" and info["deepstack_visual_indexes"] == [1, 2, 3]
    assert (info["min_pixels"], info["max_pixels"]) == (65536, 16777216)

"""Qwen2.5-VL on its real-geometry model (`harness.toy.real_geometry_qwen`: the published config shrunk, the Qwen2
vocabulary with the Qwen-VL special tokens): prompt ids and image-token counts are the processor's, continuation
positions under M-RoPE are the plain forward's, and the engine equals a plain forward per option."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from lm_eval.models.huggingface import HFLM
from PIL import Image

from harness.adapters.mrope import extend_positions, token_types
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.toy.published_qwen import QWEN2_5_VL, QWEN_VL_ADDED
from tests.conftest import random_image
from tests.harness.adapters.family_checks import assert_batched_generation_equals_one_at_a_time

# (width, height): 8x8, 1x4, 3x2 (scaled up to min_pixels), 2x2, 3x5 and 5x3 tokens
SIZES = [(224, 224), (100, 30), (33, 70), (56, 56), (84, 140), (140, 84)]
QUESTIONS = ["What is shown in this image?", "Wie viele Äpfel? 3 oder 4", "この写真は日本ですか", "Line one\nline two:"]
OPTIONS = {
    "multi-word": ("a red circle", "two dogs on a couch", "the stop sign"),
    "non-ASCII": ("café", "Ünïcödé", "日本語", "🦙"),
    "leading space": (" spaced", "  double", "none"),
    "digits": ("0", "12", "2026", "3.14"),
    "letters": ("A", "B", "C", "D"),
}


@pytest.fixture(scope="module")
def qwen_dir(vocabularies, tmp_path_factory):
    from harness.toy.real_geometry_qwen import build_real_qwen

    return build_real_qwen("qwen2_5_vl", tmp_path_factory.mktemp("qwen2_5_vl"), vocabularies)["model"]


@pytest.fixture(scope="module")
def adapter(qwen_dir):
    from harness.adapters.registry import load_vlm

    return load_vlm("qwen2_5_vl", str(qwen_dir), "float32", "cpu")


def sized(i: int, size: tuple[int, int]) -> Image.Image:
    return random_image(i).resize(size)


def test_the_config_keeps_the_published_values(qwen_dir):
    """Every published value but the shrunk sizes; the two stand-ins as `stand_ins` gives them."""
    built = json.loads((qwen_dir / "config.json").read_text())
    pub = QWEN2_5_VL["config"]
    for key, want in pub.items():
        if not isinstance(want, dict) and key != "model_type":
            assert built[key] == want, key
    sizes = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads"}
    sizes |= {"depth", "num_heads", "out_hidden_size", "max_window_layers"}
    text, vision = built["text_config"], built["vision_config"]
    for key, want in pub["text_config"].items():
        if key not in sizes | {"rope_theta", "mrope_section", "sliding_window"}:
            assert text[key] == want, key
    assert text["sliding_window"] is None  # transformers drops it: use_sliding_window is false
    for key, want in pub["vision_config"].items():
        if key not in sizes | {"fullatt_block_indexes"}:
            assert vision[key] == want, key
    assert text["rope_parameters"] == {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}
    assert vision["fullatt_block_indexes"] == [1, 3] and vision["depth"] == 4
    assert text["num_key_value_heads"] < text["num_attention_heads"]  # grouped-query attention kept
    assert vision["out_hidden_size"] == text["hidden_size"]


def test_the_special_tokens_are_at_their_published_ids(adapter):
    tok = adapter.tokenizer
    for content, want in {**QWEN_VL_ADDED, "<|endoftext|>": 151643, "<|im_start|>": 151644}.items():
        assert tok.convert_tokens_to_ids(content) == want, content
    assert (tok.eos_token_id, tok.pad_token_id, tok.bos_token) == (151645, 151643, None)
    assert adapter.image_token_id == 151655 == adapter.model.config.image_token_id
    assert tok("<|vision_start|><|image_pad|><|vision_end|>").input_ids == [151652, 151655, 151653]


def test_prompt_ids_equal_the_processors(adapter):
    """The chat template's text and ids, image placeholders expanded as the processor does, over several sizes."""
    processor = adapter.processor
    assert adapter.format_prompt(QWEN2_5_VL["example"]["question"]) == QWEN2_5_VL["example"]["prompt"]
    counts = set()
    for i, q in enumerate(QUESTIONS * 2):
        prompt = adapter.format_prompt(q)
        conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
        assert prompt == processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        im = sized(i, SIZES[i % len(SIZES)])
        want = processor(text=prompt, images=im, return_tensors="pt").input_ids[0].tolist()
        assert adapter.encode(prompt, im) == want, (q, im.size)
        counts.add(want.count(adapter.image_token_id))
    assert len(counts) >= 4  # the count depends on the image size
    with pytest.raises(ValueError, match="depends on the image size"):
        adapter.encode(adapter.format_prompt("q"))


def test_image_token_counts_are_the_published_rule(adapter):
    """Hand-computed from the resize rule (`published_qwen`), and equal to the processor's grid for each size."""
    for (w, h), n in QWEN2_5_VL["image_tokens"].items():
        grid = adapter.processor.image_processor([Image.new("RGB", (w, h))], return_tensors="pt")["image_grid_thw"]
        assert adapter.image_token_count(Image.new("RGB", (w, h))) == n == int(grid.prod()) // 4


def test_continuations_equal_lm_evals(adapter):
    """The engine's continuation ids are lm-eval HFLM's `_encode_pair`'s, as `harness eval` and the bridge ask."""
    lm = HFLM(pretrained=adapter.model, tokenizer=copy.deepcopy(adapter.tokenizer), backend="causal", batch_size=1)
    engine = Engine(adapter, batch_size=1)
    image = sized(3, (224, 224))
    for q in ("What is shown in this image?", "Which one? ", "Zählen Sie:\n"):
        context = adapter.format_prompt(q)
        for name, options in OPTIONS.items():
            _, ours = engine.tokenize(Request("x", image, context, options, ""))
            theirs = [lm._encode_pair(context, o)[1] for o in options]
            assert ours == theirs, (repr(q), name)


def _requests(adapter, n: int) -> list[Request]:
    groups = list(OPTIONS.values())
    return [
        Request(
            f"item{i}",
            sized(i, SIZES[i % len(SIZES)]),
            adapter.format_prompt(QUESTIONS[i % len(QUESTIONS)] + (" " if i % 3 == 0 else "")),
            groups[i % len(groups)],
            adapter.target_delimiter,
        )
        for i in range(n)
    ]


def test_extend_gives_continuations_the_plain_forwards_positions(adapter):
    """Left-padded prompts of six image sizes: each continuation token's M-RoPE ids from `extend_positions` are
    the ones `get_rope_index` gives the unpadded prompt + continuation; most rows' ids are not sequence positions
    (a one-row image, 100x30, advances the ids as many as its tokens: delta 0)."""
    reqs = _requests(adapter, 6)
    contexts = [adapter.encode(r.context, r.image) for r in reqs]
    prefix = adapter.prefill([r.image for r in reqs], contexts)
    cont = torch.tensor([[11, 22, 33]] * len(reqs))
    rows = torch.tensor([5, 0, 3, 3, 1, 2, 4])  # out of order, one row twice
    got = extend_positions(prefix, rows, torch.tensor([[0, 1, 2]] * len(rows)))
    deltas = set()
    for r, row in enumerate(rows.tolist()):
        full = torch.tensor([contexts[row] + cont[row].tolist()])
        grid = adapter.image_inputs([reqs[row].image])["image_grid_thw"]
        want, delta = adapter.model.model.get_rope_index(full, token_types(full, 151655), image_grid_thw=grid)
        assert torch.equal(got[:, r], want[:, 0, -3:])
        assert int(delta) == int(prefix.rope_deltas[row])
        deltas.add(int(delta))
    assert len(deltas - {0}) >= 4


@pytest.fixture(scope="module")
def reference(adapter):
    reqs = _requests(adapter, 8)
    return reqs, [plain_forward_scores(adapter, r) for r in reqs]


@pytest.mark.parametrize("batch_size", [1, 8])
def test_engine_equals_plain_forward_with_mixed_sizes(adapter, reference, batch_size):
    reqs, refs = reference
    engine = Engine(adapter, batch_size=batch_size)
    lengths = set()
    for req, scores, ref in zip(reqs, engine.score(reqs), refs):
        for s, r in zip(scores, ref):
            assert abs(s.logprob - r) < 1e-4, (req.key, s.logprob, r)
            lengths.add(s.n_tokens)
    assert len(lengths) >= 3 and engine.forwards <= 2 * -(-len(reqs) // batch_size)


def test_plain_forward_reference_is_the_processor_forward(adapter):
    req = _requests(adapter, 2)[1]
    inputs = adapter.processor(text=req.context, images=req.image, return_tensors="pt")
    with torch.no_grad():
        ref = torch.log_softmax(adapter.model(**inputs).logits[0].float(), -1)
    got = adapter.full_logprobs(req.image, adapter.encode(req.context, req.image))
    assert (got - ref).abs().max() < 1e-5


def test_batched_generation_equals_one_at_a_time(adapter):
    assert_batched_generation_equals_one_at_a_time(adapter)


def test_describe(adapter):
    adapter.encode(adapter.format_prompt("x"), Image.new("RGB", (500, 375)))
    info = adapter.describe()
    assert info["vlm"] == "qwen2_5_vl" and info["image_tokens_by_size"]["500x375"] == 234
    assert (info["min_pixels"], info["max_pixels"]) == (3136, 12845056)
    assert info["full_attention_blocks"] == [1, 3] and "M-RoPE" in info["position_encoding"]

"""Gemma 4 on its real-geometry model (google/gemma-4-E2B-it's config shrunk, Gemma 4's own vocabulary and chat
template): the config keeps the published values, prompt ids and image-token counts are the transformers processor's
for several image sizes, continuation ids follow lm-eval HFLM's rule, audio is refused in one line and greedy
generation answers a batch of differently sized images."""

from __future__ import annotations

import copy
import json

import pytest
from lm_eval.models.huggingface import HFLM

from harness.errors import InvalidInput
from harness.eval.engine import Engine, Request
from harness.toy.published_gemma import PUBLISHED_GEMMA
from harness.toy.real_geometry_gemma import SHRUNK_WINDOW, TEXT_SIZES, VISION_SIZES
from tests.conftest import random_image
from tests.harness.adapters.test_gemma4_fixtures import gemma4, gemma4_dir, gemma4_tok  # noqa: F401

ENTRY = PUBLISHED_GEMMA["gemma4"]
QUESTIONS = ["What is shown in this image?", "Wie viele Äpfel? 3 oder 4", "この写真は日本ですか", "Line one\nline two:"]
SIZES = [(224, 224), (500, 375), (300, 420), (1024, 200)]  # (width, height)
OPTIONS = (("a red circle", "two dogs"), ("café", "🦙", "日本語"), (" spaced", "none"), ("A", "B"), ("12", "3.14"))


def conversation(q: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]


def test_the_config_keeps_the_published_values(gemma4_dir):  # noqa: F811
    built = json.loads((gemma4_dir / "config.json").read_text())
    shrunk = set(TEXT_SIZES) | set(VISION_SIZES)
    for section in ("text_config", "vision_config"):
        for key, want in ENTRY["config"][section].items():
            if key not in shrunk and key != "layer_types":
                assert built[section][key] == want, (section, key)
    for key, want in ENTRY["config"].items():
        if not isinstance(want, dict):
            assert built[key] == want, key
    text = built["text_config"]
    assert text["sliding_window"] == SHRUNK_WINDOW and text["layer_types"] == TEXT_SIZES["layer_types"]
    assert text["layer_types"][:5] == ENTRY["config"]["text_config"]["layer_types"][:5]  # the 4:1 pattern
    ip = json.loads((gemma4_dir / "processor_config.json").read_text())
    assert ip["image_processor"]["max_soft_tokens"] == 280 and ip["image_seq_length"] == 280


def test_prompt_ids_equal_the_processor_and_chat_template(gemma4):  # noqa: F811
    processor = gemma4.processor
    for i, q in enumerate(QUESTIONS):
        im = random_image(i).resize(SIZES[i])
        prompt = gemma4.format_prompt(q)
        assert prompt == processor.apply_chat_template(conversation(q), add_generation_prompt=True, tokenize=False)
        assert prompt.endswith(ENTRY["generation_prompt"]) and prompt.startswith("<bos><|turn>user\n")
        want = processor.apply_chat_template(
            conversation(q), add_generation_prompt=True, tokenize=True, return_dict=True, images=[im]
        )["input_ids"][0]
        assert gemma4.encode(prompt, im) == list(want), q


def test_image_token_counts_equal_the_processors(gemma4):  # noqa: F811
    counts = {}
    for size in SIZES:
        im = random_image(1).resize(size)
        out = gemma4.processor(text="<|image|>", images=im, return_tensors="pt")
        n = int((out.input_ids[0] == 258880).sum())
        soft = gemma4.processor.image_processor([im], return_tensors="pt")["num_soft_tokens_per_image"]
        assert gemma4.image_token_count(im) == n == int(soft[0])
        ids = gemma4.encode("<|image|>", im)
        assert ids == [255999, *[258880] * n, 258882]
        counts[size] = n
    assert counts == {(224, 224): 256, (500, 375): 266, (300, 420): 266, (1024, 200): 259}
    assert all(n > SHRUNK_WINDOW for n in counts.values())  # every prompt is longer than the sliding window


def test_continuations_equal_lm_evals(gemma4):  # noqa: F811
    lm = HFLM(pretrained=gemma4.model, tokenizer=copy.deepcopy(gemma4.tokenizer), backend="causal", batch_size=1)
    engine = Engine(gemma4, batch_size=1)
    image = random_image(3).resize((224, 224))
    for q in ("Which one? ", "Zählen Sie:\n"):
        context = gemma4.format_prompt(q)
        for options in OPTIONS:
            _, ours = engine.tokenize(Request("x", image, context, options, gemma4.target_delimiter))
            theirs = [lm._encode_pair(context, gemma4.target_delimiter + o)[1] for o in options]
            assert ours == theirs, (q, options)


def test_audio_is_refused_in_one_line(gemma4):  # noqa: F811
    for text in ("<|audio|> what is said?", gemma4.format_prompt("<|audio>x<audio|>")):
        with pytest.raises(InvalidInput, match=r"^--vlm gemma4: audio inputs are not supported") as e:
            gemma4.encode(text, random_image(0))
        assert "\n" not in str(e.value)
    with pytest.raises(InvalidInput, match="audio"):
        gemma4.prefill([random_image(0)], [[2, 258881, 9259]])


def test_greedy_generation_answers_each_image(gemma4):  # noqa: F811
    images = [random_image(i).resize(s) for i, s in enumerate(SIZES[:2])]
    contexts = [gemma4.encode(gemma4.format_prompt("Describe it."), im) for im in images]
    batch = gemma4.generate(images, contexts, max_new_tokens=4)
    alone = [gemma4.generate([im], [c], max_new_tokens=4)[0] for im, c in zip(images, contexts)]
    assert batch == alone and all(isinstance(a, str) and a for a in batch)
    assert gemma4.stop_ids == [1, 106]  # <eos>, and the chat template's end of turn <turn|>


def test_describe_names_the_masks(gemma4):  # noqa: F811
    info = gemma4.describe()
    assert info["vlm"] == "gemma4" and info["sliding_window"] == SHRUNK_WINDOW
    assert info["use_bidirectional_attention"] is None and info["num_kv_shared_layers"] == 4
    assert info["target_delimiter"] == ""

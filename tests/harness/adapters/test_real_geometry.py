"""Every family on its real-geometry model (the published config shrunk in depth and width, the real tokenizer):
the config keeps the published values, and the prompt string, its ids and the image-token count the harness
uses equal what the transformers processor and chat template give, and the published examples."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from harness.toy.real_parts import PUBLISHED
from tests.conftest import random_image

FAMILIES = sorted(PUBLISHED)
PROCESSOR_FAMILIES = ["blip2", "instructblip", "llava", "llava_next", "llava_onevision"]
QUESTIONS = [
    "What is shown in this image?",
    "Wie viele Äpfel liegen hier? 3 oder 4",
    "この写真は日本ですか",
    "Is the 🦙 left of the sign (yes/no)?",
    "Line one\nline two:",
]
SIZES = [(336, 336), (500, 375), (1024, 899), (224, 600)]  # (width, height)


def image(i: int, size: tuple[int, int]) -> Image.Image:
    return random_image(i).resize(size)


def kept(published: dict, built: dict, path: str = "") -> list[str]:
    """Published values that differ in the built config (sizes are the ones shrunk)."""
    sizes = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads"}
    sizes |= {"ffn_dim", "word_embed_proj_dim", "projection_dim", "encoder_hidden_size", "model_type"}
    out = []
    for key, want in published.items():
        if isinstance(want, dict):
            out += kept(want, built.get(key, {}), f"{path}{key}.")
        elif key not in sizes and built.get(key, want) != want:
            out.append(f"{path}{key}: published {want!r}, built {built.get(key)!r}")
    return out


@pytest.mark.parametrize("family", [f for f in FAMILIES if f != "minigptv2"])
def test_the_config_keeps_the_published_values(real_model, family):
    """All but the shrunk sizes, and the fields a stand-in renumbers (published_blip: `stand_ins`)."""
    entry = PUBLISHED[family]
    built = json.loads((real_model(family)["model"] / "config.json").read_text())
    built = {**built, "image_token_index": built.get("image_token_id", built.get("image_token_index"))}
    published = json.loads(json.dumps(entry["config"]))
    for field in entry.get("stand_ins", {}).get("fields", []):
        *parents, leaf = field.split(".")
        node = published
        for p in parents:
            node = node[p]
        del node[leaf]
    assert kept(published, built) == []


@pytest.mark.parametrize("family", PROCESSOR_FAMILIES)
def test_prompt_ids_equal_the_processors(real_adapter, family):
    """`encode(format_prompt(q), image)` is what the processor gives for the chat template's text and the image,
    image placeholders expanded, over questions with umlauts, CJK, emoji and newlines and several image sizes."""
    adapter = real_adapter(family)
    processor = adapter.processor
    for i, q in enumerate(QUESTIONS):
        im = image(i, SIZES[i % len(SIZES)])
        prompt = adapter.format_prompt(q)
        if processor.chat_template:
            conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}]
            assert prompt == processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
        want = processor(text=prompt, images=im, return_tensors="pt").input_ids[0].tolist()
        assert adapter.encode(prompt, im) == want, (family, q)


@pytest.mark.parametrize("family", ["llava", "llava_next", "llava_onevision"])
def test_the_published_chat_prompt(real_adapter, family):
    entry, adapter = PUBLISHED[family], real_adapter(family)
    example = entry["example"]
    assert adapter.format_prompt(example["question"]) == example["prompt"]
    if "ids" in example:  # before the image placeholder is expanded
        assert adapter.tokenizer(example["prompt"]).input_ids == example["ids"]


def test_llava_image_tokens_are_576_at_any_size(real_adapter):
    adapter = real_adapter("llava")
    for i, size in enumerate(SIZES):
        ids = adapter.encode(adapter.format_prompt("q"), image(i, size))
        assert ids.count(32000) == 576 == PUBLISHED["llava"]["image_tokens"]


@pytest.mark.parametrize("family", ["llava_next", "llava_onevision"])
def test_any_resolution_counts(real_adapter, family):
    """The published count for an 899x1024 (h x w) image, and the processor's for other sizes."""
    adapter = real_adapter(family)
    token = adapter.image_token_id
    for (w, h), n in PUBLISHED[family]["image_tokens"].items():
        assert adapter.image_token_count(Image.new("RGB", (w, h))) == n
    counts = {size: adapter.encode(adapter.format_prompt("q"), image(0, size)).count(token) for size in SIZES}
    assert len(set(counts.values())) == len(SIZES)  # the tiling depends on the size
    if family == "llava_onevision":  # the published integration test's prompt is 6567 ids long
        example = PUBLISHED[family]["example"]
        ids = adapter.processor(text=example["sized_prompt"], images=Image.new("RGB", (1024, 899))).input_ids[0]
        assert len(ids) == example["sized_prompt_ids"]
        assert adapter.encode(example["sized_prompt"], Image.new("RGB", (1024, 899))) == list(ids)


def test_blip2_queries_precede_bos_and_the_prompt_segments_as_opts(real_adapter):
    adapter, example = real_adapter("blip2"), PUBLISHED["blip2"]["example"]
    ids = adapter.encode(adapter.format_prompt(example["prompt"]))
    assert ids[:32] == [adapter.image_token_id] * 32
    assert adapter.tokenizer.convert_ids_to_tokens(ids[32:]) == example["tokens"]
    assert len(ids[32:]) == len(example["opt_ids"])


def test_instructblip_ids_equal_the_published_ones(real_adapter):
    adapter, example = real_adapter("instructblip"), PUBLISHED["instructblip"]["example"]
    ids = adapter.encode(adapter.format_prompt(example["prompt"]))
    assert ids == [32001] * 32 + example["ids"]
    for q in [example["prompt"], *QUESTIONS]:  # what the Q-Former reads is the prompt itself
        assert adapter.prompt_text(adapter.encode(adapter.format_prompt(q))) == q


def test_minigptv2_prompt_is_the_releases(real_adapter, vocabularies):
    """`<s>[INST] <Img>` with special tokens (a double BOS), 256 image positions, then the rest without, as
    MiniGPT-v2's own code tokenizes its two segments with the SentencePiece tokenizer (here the GGUF one, which
    reproduces llama.cpp's SentencePiece vectors; transformers' LlamaTokenizer drops the "▁" after `<s>`)."""
    adapter = real_adapter("minigptv2")
    spm = vocabularies.tokenizer(PUBLISHED["minigptv2"])
    for q in QUESTIONS:
        prompt = adapter.format_prompt(f"[vqa] {q}")
        before, after = prompt.split("<ImageHere>")
        want = spm(before).input_ids + [-200] * 256 + spm(after, add_special_tokens=False).input_ids
        ids = adapter.encode(prompt, image(0, (448, 448)))
        assert ids == want, q
        assert ids[:5] == PUBLISHED["minigptv2"]["example"]["prompt_prefix_ids"]
        assert ids.count(-200) == PUBLISHED["minigptv2"]["image_tokens"]

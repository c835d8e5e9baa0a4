"""Gemma 4's vocabulary read from llama.cpp's GGUF (a `gemma4` file transformers' GGUF reader refuses) reproduces
every llama.cpp test vector, numbers every special token as the published tokenizer does, and saves a
tokenizer.json that the `tokenizers` library and transformers reload to the same ids; the fast GGUF field reader
equals gguf-py's."""

from __future__ import annotations

import json

import pytest
from gguf import GGUFReader
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from harness.errors import InvalidInput
from harness.toy.gguf_tokenizer import gguf_architecture, read_gguf_fields
from harness.toy.published_gemma import PUBLISHED_GEMMA, SPECIAL_IDS, TEXT_CONFIG
from tests.conftest import TOKENIZERS
from tests.harness.adapters.test_gemma4_fixtures import GGUF, gemma4_tok  # noqa: F401


def vectors() -> list[tuple[str, list[int]]]:
    """llama.cpp's cases: `.inp` texts separated by `__ggml_vocab_test__` lines, `.out` one id list per line."""
    texts = (TOKENIZERS / f"{GGUF.name}.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    texts = texts[:-1] + [texts[-1].removesuffix("\n__ggml_vocab_test__").removesuffix("__ggml_vocab_test__")]
    ids = [[int(x) for x in line.split()] for line in (TOKENIZERS / f"{GGUF.name}.out").read_text().splitlines()]
    assert len(texts) == len(ids)
    return list(zip(texts, ids))


def test_every_llama_cpp_vector_is_reproduced(gemma4_tok):  # noqa: F811
    cases = vectors()
    assert len(cases) == 46
    for text, want in cases:
        assert gemma4_tok.encode(text, add_special_tokens=False) == want, repr(text)


def test_special_ids_are_the_published_ones(gemma4_tok):  # noqa: F811
    tok = gemma4_tok
    assert len(tok) == TEXT_CONFIG["vocab_size"] == 262144
    for token, want in SPECIAL_IDS.items():
        assert tok.convert_tokens_to_ids(token) == want, token
    assert (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    cfg = PUBLISHED_GEMMA["gemma4"]["config"]
    assert (tok.image_token_id, tok.convert_tokens_to_ids(tok.boi_token), tok.convert_tokens_to_ids(tok.eoi_token)) == (
        cfg["image_token_id"],
        cfg["boi_token_id"],
        cfg["eoi_token_id"],
    )
    assert tok.convert_tokens_to_ids(tok.audio_token) == cfg["audio_token_id"]
    # BOS prepended (the file's add_bos_token); markers are single tokens wherever they sit
    assert tok("Hi <|image|>x").input_ids == [2, 10979, 236743, 258880, 236781]
    assert tok.decode([9259, 236743, 258880, 1902], skip_special_tokens=True) == "Hello  world"


def test_the_saved_tokenizer_reloads_to_the_same_ids(gemma4_tok, tmp_path):  # noqa: F811
    gemma4_tok.save_pretrained(tmp_path)
    direct = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    again = AutoTokenizer.from_pretrained(tmp_path)
    for text, want in vectors():
        assert direct.encode(text, add_special_tokens=False).ids == want, repr(text)
        assert again.encode(text, add_special_tokens=False) == want, repr(text)
    assert again.image_token_id == 258880
    spec = json.loads((tmp_path / "tokenizer.json").read_text())
    assert spec["normalizer"] == {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
    assert spec["model"]["type"] == "BPE" and spec["model"]["byte_fallback"] is True


@pytest.mark.parametrize("name", ["ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf"])
def test_the_fast_field_reader_equals_gguf_py(name):
    path = TOKENIZERS / name
    ours = read_gguf_fields(path)
    theirs = {k: f.contents() for k, f in GGUFReader(path).fields.items() if not k.startswith("GGUF.")}
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value) if isinstance(value, float) else ours[key] == value, key


def test_gemma4_gguf_facts():
    assert gguf_architecture(GGUF) == "gemma4"
    fields = read_gguf_fields(GGUF)
    assert fields["tokenizer.ggml.model"] == "gemma4"
    assert fields["tokenizer.ggml.add_space_prefix"] is False
    assert "{{- '<|turn>model\\n' -}}" in fields["tokenizer.chat_template"]  # the generation prompt


def test_a_file_that_is_not_gguf_is_named(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOTGGUF" + b"\0" * 40)
    with pytest.raises(InvalidInput, match="x.gguf: not a GGUF"):
        read_gguf_fields(bad)


def test_the_gguf_models_facts_agree_with_the_published_e2b_values_the_family_shares():
    """The file was converted from Gemma 4 26B-A4B (30 blocks, 128 experts); the values Gemma 4 models share with
    E2B's published config are the same there: rotary bases, softcapping, head sizes, RMS epsilon, 5:1-style
    sliding pattern ending on a full layer."""
    fields = read_gguf_fields(GGUF)
    text = TEXT_CONFIG
    assert (fields["gemma4.block_count"], fields["gemma4.expert_count"]) == (30, 128)
    assert fields["gemma4.rope.freq_base"] == text["rope_parameters"]["full_attention"]["rope_theta"]
    assert fields["gemma4.rope.freq_base_swa"] == text["rope_parameters"]["sliding_attention"]["rope_theta"]
    assert fields["gemma4.final_logit_softcapping"] == text["final_logit_softcapping"]
    assert (fields["gemma4.attention.key_length"], fields["gemma4.attention.key_length_swa"]) == (
        text["global_head_dim"],
        text["head_dim"],
    )
    assert fields["gemma4.attention.layer_norm_rms_epsilon"] == pytest.approx(text["rms_norm_eps"])
    assert fields["gemma4.attention.sliding_window_pattern"][-1] is False  # the last layer attends fully

"""A tokenizer that does not fit its model is refused before any weight loads, naming both sides: another
vocabulary (more tokens than the model embeds), a missing or renumbered `<image>`, a pad that is the image token."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from harness.adapters import hf_loading
from harness.adapters.registry import load_vlm
from harness.adapters.tokenizer_fit import TokenizerMismatch
from harness.cli import app
from harness.toy.real_parts import PUBLISHED


@pytest.fixture
def no_weights(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("weights were loaded for a tokenizer that does not fit")

    monkeypatch.setattr(hf_loading, "load_complete", refuse)
    monkeypatch.setattr("harness.adapters.llava.load_complete", refuse)
    monkeypatch.setattr("harness.adapters.minigptv2.load_complete", refuse)


def _with_tokenizer(real_model, tmp_path, family: str, tok) -> str:
    model = tmp_path / family
    shutil.copytree(real_model(family)["model"], model)
    tok.save_pretrained(model)
    return str(model)


def _llama(vocabularies, added: dict[str, int], **roles: str):
    return vocabularies.tokenizer({"tokenizer": {"vocab": "llama-spm", "added": added, **roles}})


def _llava_tok(vocabularies, added: dict[str, int]):
    return _llama(vocabularies, added, pad="<pad>")


def test_another_models_vocabulary(real_model, vocabularies, tmp_path, no_weights):
    model = _with_tokenizer(real_model, tmp_path, "llava", vocabularies.tokenizer(PUBLISHED["llava_onevision"]))
    with pytest.raises(TokenizerMismatch, match=r"has 151648 tokens, but the model embeds only 32064 \(vocab_size in "):
        load_vlm("llava", model, "float32", "cpu")


def test_a_missing_or_renumbered_image_token(real_model, vocabularies, tmp_path, no_weights):
    missing = _with_tokenizer(real_model, tmp_path / "a", "llava", _llava_tok(vocabularies, {"<pad>": 32000}))
    with pytest.raises(
        TokenizerMismatch, match=r"config.json puts the image at token id 32000 \('<image>'\), but the "
    ):
        load_vlm("llava", missing, "float32", "cpu")
    swapped = _llava_tok(vocabularies, {"<pad>": 32000, "<image>": 32001})
    model = _with_tokenizer(real_model, tmp_path / "b", "llava", swapped)
    with pytest.raises(TokenizerMismatch, match="numbers it 32001; the tokenizer and the model come from"):
        load_vlm("llava", model, "float32", "cpu")


def test_a_pad_beyond_the_embedding_or_on_the_image_token(real_model, vocabularies, tmp_path, no_weights):
    paths = real_model("minigptv2")
    llama = tmp_path / "llama"
    shutil.copytree(paths["model"], llama)
    _llama(vocabularies, {"<pad>": 32000}, pad="<pad>").save_pretrained(llama)
    with pytest.raises(TokenizerMismatch, match="has 32001 tokens, but the model embeds only 32000"):
        load_vlm("minigptv2", str(llama), "float32", "cpu", minigptv2_ckpt=str(paths["minigptv2_ckpt"]),
                 eva_ckpt=str(paths["eva_ckpt"]))  # fmt: skip
    same = _llama(vocabularies, {"<image>": 32000, "<pad>": 32001}, pad="<image>")
    model = _with_tokenizer(real_model, tmp_path, "llava", same)
    with pytest.raises(TokenizerMismatch, match="pads with id 32000, the image token of"):
        load_vlm("llava", model, "float32", "cpu")


def test_the_cli_says_it_in_one_line(real_model, vocabularies, tmp_path, no_weights):
    model = _with_tokenizer(real_model, tmp_path, "llava", _llava_tok(vocabularies, {"<pad>": 32000}))
    args = ["eval", "--tasks", "toy_control", "--limit", "1", "--model", model, "--device", "cpu"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "Traceback" not in res.output, res.output
    assert f"{model}/config.json puts the image at token id 32000" in res.output.replace("\n", "")
    assert f"the tokenizer in {model}" in res.output.replace("\n", "")

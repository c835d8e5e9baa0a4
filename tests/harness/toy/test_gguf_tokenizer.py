"""The real vocabularies (Llama SentencePiece, GPT-2 BPE, Qwen2 BPE) read from llama.cpp's GGUF files reproduce
every one of llama.cpp's own test vectors, and the tokens the models add land on their published ids."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from harness.toy.gguf_tokenizer import add_published_tokens
from harness.toy.real_parts import VOCAB_FILES
from tests.conftest import TOKENIZERS


def vectors(name: str) -> list[tuple[str, list[int]]]:
    """llama.cpp's cases: `.inp` texts separated by `__ggml_vocab_test__` lines, `.out` one id list per line."""
    texts = (TOKENIZERS / f"{name}.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")[:-1]
    ids = [[int(x) for x in line.split()] for line in (TOKENIZERS / f"{name}.out").read_text().splitlines()]
    assert len(texts) == len(ids) == 46
    return list(zip(texts, ids))


@pytest.mark.parametrize("vocab", sorted(VOCAB_FILES))
def test_every_llama_cpp_vector_is_reproduced(vocabularies, vocab):
    tok = vocabularies.tokenizer({"tokenizer": {"vocab": vocab, "added": {}}})
    for text, want in vectors(VOCAB_FILES[vocab]):
        assert tok.encode(text, add_special_tokens=False) == want, repr(text)


def test_the_sentencepiece_correction_is_needed():
    """transformers' own GGUF conversion drops SentencePiece's dummy prefix before a leading space."""
    plain = AutoTokenizer.from_pretrained(TOKENIZERS, gguf_file=VOCAB_FILES["llama-spm"])
    wrong = [t for t, want in vectors(VOCAB_FILES["llama-spm"]) if plain.encode(t, add_special_tokens=False) != want]
    assert " Hello world" in wrong and all(t[:1].isspace() for t in wrong)


def test_sizes_and_special_tokens(vocabularies):
    sizes = {v: len(vocabularies.tokenizer({"tokenizer": {"vocab": v, "added": {}}})) for v in VOCAB_FILES}
    assert sizes == {"llama-spm": 32000, "gpt-2": 50257, "qwen2": 151646}  # Qwen2's 290 [PAD] fillers dropped
    llama = vocabularies.tokenizer({"tokenizer": {"vocab": "llama-spm", "added": {}}})
    assert (llama.bos_token_id, llama.eos_token_id, llama.unk_token_id) == (1, 2, 0)
    assert llama("Hello").input_ids == [1, 15043]  # BOS added, "▁Hello"
    qwen = vocabularies.tokenizer({"tokenizer": {"vocab": "qwen2", "added": {}}})
    assert qwen.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [151643, 151644, 151645]


def test_added_tokens_land_on_the_published_ids(vocabularies):
    qwen = vocabularies.tokenizer({"tokenizer": {"vocab": "qwen2", "added": {"<image>": 151646, "<video>": 151647}}})
    # T:tests/models/llava_onevision/test_processor_llava_onevision.py::test_chat_template_dict
    text = "<|im_start|>user <video>\nWhat is shown in this video?<|im_end|><|im_start|>assistant\n"
    want = [151644, 872, 220, 151647, 198, 3838, 374, 6839, 304, 419, 2766, 30, 151645, 151644, 77091, 198]
    assert qwen(text).input_ids == want
    with pytest.raises(ValueError, match="'<image>' was added as id 32000, but the model publishes 32005"):
        add_published_tokens(
            vocabularies.tokenizer({"tokenizer": {"vocab": "llama-spm", "added": {}}}), {"<image>": 32005}
        )

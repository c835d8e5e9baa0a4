"""The real vocabularies (Llama SentencePiece, GPT-2 BPE, Qwen2 BPE, BERT uncased WordPiece) read from llama.cpp's
GGUF files reproduce every one of llama.cpp's own test vectors, the tokens the models add land on their published
ids, and the tokenizer.json they save (alone or in a real-geometry model) carries the published normaliser and
pre-tokeniser, so that the `tokenizers` library reading the file directly tokenizes as the release does."""

from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from harness.toy.gguf_tokenizer import add_published_tokens
from harness.toy.real_parts import PUBLISHED, VOCAB_FILES
from tests.conftest import TOKENIZERS


def byte_level(add_prefix_space: bool, trim_offsets: bool, use_regex: bool) -> dict:
    return {
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": trim_offsets,
        "use_regex": use_regex,
    }


# The published tokenizer.json's normalizer, pre_tokenizer and decoder of the models each vocabulary stands for.
PUBLISHED_PIPELINES = {
    # llava-hf/llava-1.5-7b-hf, Salesforce/instructblip-vicuna-7b, meta-llama/Llama-2-7b-chat-hf: transformers'
    # LlamaConverter, legacy (T:src/transformers/convert_slow_tokenizer.py LlamaConverter.normalizer/.pre_tokenizer/
    # .decoder with add_prefix_space=True)
    "llama-spm": {
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": "\u2581"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
            ],
        },
        "pre_tokenizer": None,
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
    },
    # Salesforce/blip2-opt-2.7b (facebook/opt-2.7b's vocab.json + merges.txt through transformers' GPT2Converter:
    # T:src/transformers/convert_slow_tokenizer.py, ByteLevel(add_prefix_space=False), decoders.ByteLevel())
    "gpt-2": {
        "normalizer": None,
        "pre_tokenizer": byte_level(False, True, True),
        "decoder": byte_level(True, True, True),
    },
    # Qwen/Qwen2-0.5B-Instruct's tokenizer.json, saved by llava-hf/llava-onevision-qwen2-0.5b-ov-hf with <image> and
    # <video> added; NFC and the split as in T:src/transformers/convert_slow_tokenizer.py Qwen2Converter
    "qwen2": {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {
                        "Regex": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                        r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
                    },
                    "behavior": "Isolated",
                    "invert": False,
                },
                byte_level(False, False, False),
            ],
        },
        "decoder": byte_level(False, False, False),
    },
    # google-bert/bert-base-uncased's tokenizer.json (and BAAI/bge-small-en-v1.5's, which llama.cpp's bert-bge file
    # was converted from): T:src/transformers/convert_slow_tokenizer.py BertConverter with do_lower_case=True
    "bert-bge": {
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": True,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    },
}
# bert-base-uncased's vocab.txt numbering: [CLS] 101, [SEP] 102, "what" 2054, "is" 2003, "unusual" 5866, "about" 2055,
# "this" 2023, "image" 3746, "?" 1029
QFORMER_EXAMPLE = ("What is unusual about this image?", [101, 2054, 2003, 5866, 2055, 2023, 3746, 1029, 102])
# Qwen2's released tokenizer composes decomposed accents (NFC) before it splits (issue 27, item 2)
DECOMPOSED = "cafe\u0301 e\u0301 (decomposed accents)"
DECOMPOSED_IDS = [924, 58858, 3958, 320, 450, 92734, 58470, 8]


def pipeline(tokenizer_json) -> dict:
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    return {k: spec[k] for k in ("normalizer", "pre_tokenizer", "decoder")}


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
    # Qwen2's 290 [PAD] fillers dropped; BERT's 30,522 WordPiece tokens as bert-base-uncased's vocab.txt
    assert sizes == {"llama-spm": 32000, "gpt-2": 50257, "qwen2": 151646, "bert-bge": 30522}
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


@pytest.mark.parametrize("vocab", sorted(VOCAB_FILES))
def test_the_saved_tokenizer_json_is_the_published_one(vocabularies, vocab, tmp_path):
    """Normalizer, pre-tokenizer and decoder as published, and the `tokenizers` library reading the saved file alone
    reproduces every one of llama.cpp's vectors."""
    vocabularies.tokenizer({"tokenizer": {"vocab": vocab, "added": {}}}).save_pretrained(tmp_path)
    assert pipeline(tmp_path / "tokenizer.json") == PUBLISHED_PIPELINES[vocab]
    direct = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for text, want in vectors(VOCAB_FILES[vocab]):
        assert direct.encode(text, add_special_tokens=False).ids == want, repr(text)


def test_qwen2_composes_decomposed_accents(vocabularies, tmp_path):
    """The tokenizer itself, the saved file through `tokenizers`, and the file re-loaded by transformers."""
    qwen = vocabularies.tokenizer({"tokenizer": {"vocab": "qwen2", "added": {}}})
    assert qwen.encode(DECOMPOSED, add_special_tokens=False) == DECOMPOSED_IDS
    qwen.save_pretrained(tmp_path)
    assert (
        Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode(DECOMPOSED, add_special_tokens=False).ids
        == DECOMPOSED_IDS
    )
    assert AutoTokenizer.from_pretrained(tmp_path).encode(DECOMPOSED, add_special_tokens=False) == DECOMPOSED_IDS


@pytest.mark.parametrize("family", sorted(PUBLISHED))
def test_real_geometry_models_save_the_published_pipeline(real_model, family):
    """Every language-model tokenizer.json a real-geometry model ships (MiniGPT-v2's in its Llama folder; not
    InstructBLIP's Q-Former tokenizer, checked in its own test)."""
    saved = [p for p in real_model(family)["model"].rglob("tokenizer.json") if "qformer_tokenizer" not in p.parts]
    assert saved
    for path in saved:
        assert pipeline(path) == PUBLISHED_PIPELINES[PUBLISHED[family]["tokenizer"]["vocab"]], path
    if family == "llava_onevision":
        model = real_model(family)["model"]
        assert (
            Tokenizer.from_file(str(model / "tokenizer.json")).encode(DECOMPOSED, add_special_tokens=False).ids
            == DECOMPOSED_IDS
        )
        assert AutoTokenizer.from_pretrained(model).encode(DECOMPOSED, add_special_tokens=False) == DECOMPOSED_IDS


def test_bert_wordpiece_lowercases_strips_accents_and_wraps_in_cls_sep(vocabularies):
    """bert-base-uncased's rules: lower-casing, accents stripped (uncased, strip_accents unset), [CLS] $A [SEP], the
    special tokens at vocab.txt's ids."""
    bert = vocabularies.tokenizer({"tokenizer": {"vocab": "bert-bge", "added": {}}})
    text, ids = QFORMER_EXAMPLE
    assert bert(text).input_ids == ids
    assert bert("WHAT IS UNUSUAL ABOUT THIS IMAGE?").input_ids == ids
    assert bert.encode("Caf\u00e9 na\u00efve", add_special_tokens=False) == bert.encode(
        "cafe naive", add_special_tokens=False
    )
    roles = ("pad", "unk", "cls", "sep", "mask")
    assert [getattr(bert, f"{r}_token_id") for r in roles] == [0, 100, 101, 102, 103]


def test_real_geometry_instructblip_qformer_reads_bert_base_uncased(real_model):
    """The Q-Former tokenizer InstructBLIP's processor saves: bert-base-uncased's vocabulary with [DEC] (30522) as its
    BOS, truncated on the left, the prompt in vocab.txt's ids; its vocabulary size is the Q-Former's."""
    from transformers import InstructBlipConfig, InstructBlipProcessor

    model = real_model("instructblip")["model"]
    qtok = InstructBlipProcessor.from_pretrained(model).qformer_tokenizer
    text, ids = QFORMER_EXAMPLE
    assert qtok(text).input_ids == ids
    assert qtok.convert_tokens_to_ids("[DEC]") == 30522 and qtok.bos_token == "[DEC]"
    assert qtok.truncation_side == "left" and len(qtok) == 30523
    assert InstructBlipConfig.from_pretrained(model).qformer_config.vocab_size == 30523
    assert pipeline(next(model.rglob("qformer_tokenizer/tokenizer.json"))) == PUBLISHED_PIPELINES["bert-bge"]

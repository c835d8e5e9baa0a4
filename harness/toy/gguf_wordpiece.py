"""BERT's WordPiece vocabulary from llama.cpp's vocab-only GGUF (the bert-bge file: bert-base-uncased's 30,522
tokens, which the BGE models share). transformers does not read this GGUF architecture: the `gguf` package reads
it, llama.cpp's respelling of the pieces is undone and transformers' `BertTokenizer` is built on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput

# BERT uncased WordPiece: the tokenizer.json of bert-base-uncased (google-bert/bert-base-uncased) and of
# BAAI/bge-small-en-v1.5, which llama.cpp's bert-bge file was converted from; transformers' BertConverter
# (convert_slow_tokenizer.py) and BertTokenizer build it the same way: lower-casing, which with strip_accents None
# also strips accents, Chinese characters split out, BERT's pre-tokeniser and a WordPiece decoder.
BERT_PIPELINE: dict[str, Any] = {
    "normalizer": {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": True,
        "strip_accents": None,
        "lowercase": True,
    },
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
}
# bert-base-uncased's WordPiece model settings (its tokenizer.json "model", as BertConverter writes it)
BERT_WORDPIECE = {"unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100}


def wordpiece_spelling(token: str) -> str:
    """A piece of llama.cpp's BERT vocabulary in WordPiece's own spelling. llama.cpp's converter (convert_hf_to_gguf.py,
    `BertModel.set_vocab`'s `phantom`) keeps the `[…]` tokens, drops a continuation's "##" and puts "▁" before every
    word-initial piece; this undoes it."""
    if token.startswith("▁"):
        return token[1:]
    if token.startswith("[") and token.endswith("]"):
        return token
    return "##" + token


def load_wordpiece_gguf(path: Path) -> Any:
    """BERT's WordPiece tokenizer from llama.cpp's vocab-only file: transformers' `BertTokenizer` (lower-cased,
    [CLS] $A [SEP]) over the file's vocabulary and special tokens, checked to carry the published pipeline."""
    from gguf import GGUFReader
    from transformers import BertTokenizer

    fields = GGUFReader(path).fields
    pieces = [wordpiece_spelling(t) for t in fields["tokenizer.ggml.tokens"].contents()]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    if len(vocab) != len(pieces):
        raise InvalidInput(f"{path}: {len(pieces) - len(vocab)} pieces spell alike once llama.cpp's '▁' is undone")

    def role(key: str) -> str:
        return pieces[fields[f"tokenizer.ggml.{key}_token_id"].contents()]

    specials = {"unk": "unknown", "sep": "seperator", "pad": "padding", "cls": "cls", "mask": "mask"}  # llama.cpp's
    tok = BertTokenizer(
        vocab=vocab,
        do_lower_case=True,
        tokenize_chinese_chars=True,
        strip_accents=None,
        **{f"{k}_token": role(v) for k, v in specials.items()},
    )
    spec = json.loads(tok.backend_tokenizer.to_str())
    model = {k: spec["model"].get(k) for k in BERT_WORDPIECE}
    if {k: spec[k] for k in BERT_PIPELINE} != BERT_PIPELINE or model != BERT_WORDPIECE:
        raise InvalidInput(f"{path}: transformers' BertTokenizer no longer builds bert-base-uncased's pipeline")
    return tok

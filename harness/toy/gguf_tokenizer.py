"""Real tokenizer vocabularies from llama.cpp's vocab-only GGUF files, as the released models tokenize.

transformers reads the vocabulary, merges and special tokens (`gguf_file=`, which needs the `gguf` package, a test
dependency). Two corrections make the ids, and the saved `tokenizer.json`, equal the released tokenizers' (and
llama.cpp's test vectors):

- The pipeline: transformers' GGUF conversion builds the normaliser, pre-tokeniser and decoder from its own class
  defaults, which are not what the hub files say. SentencePiece's dummy prefix is left out before a leading space
  (`Metaspace(prepend_scheme="first")`: 15 of llama.cpp's 46 Llama vectors differ), and Qwen2 loses its NFC
  normalisation (decomposed accents tokenise differently). Each vocabulary gets the normaliser, pre-tokeniser and
  decoder of the published `tokenizer.json` it stands for (`PUBLISHED_PIPELINES`), so that whatever reads the saved
  file directly (the `tokenizers` library, vLLM, TGI, transformers 4) tokenises as the release does.
- Padding placeholders: some files fill the vocabulary up to the embedding size with user-defined `[PAD…]` tokens
  (Qwen2: 290, from 151646 on). They are dropped, so that the tokens a model adds get the ids it publishes
  (`<image>` = 151646 in LLaVA-OneVision).

BERT's WordPiece vocabulary (llama.cpp's bert-bge file: bert-base-uncased's 30,522 tokens, which the BGE models
share) is a GGUF architecture transformers does not read: `load_wordpiece_gguf` reads it with the `gguf` package,
undoes llama.cpp's respelling of the pieces and builds transformers' `BertTokenizer` on it.

The tokens a model adds (`<image>`, `<pad>`, …) are added with `add_published_tokens`, each checked to land on its
published id.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.toy.gguf_wordpiece import BERT_PIPELINE, load_wordpiece_gguf

PLACEHOLDER = re.compile(r"\[PAD\d+\]")
# Qwen2's split regex, as its tokenizer.json spells it (transformers' qwen2/tokenization_qwen2.py PRETOKENIZE_REGEX)
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _byte_level(add_prefix_space: bool, trim_offsets: bool, use_regex: bool) -> dict[str, Any]:
    return {
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": trim_offsets,
        "use_regex": use_regex,
    }


# The normaliser, pre-tokeniser and decoder of the published tokenizer.json of each vocabulary, in that file's own
# spelling, keyed by the vocabulary's family (`family`: llama.cpp's names for it).
PUBLISHED_PIPELINES: dict[str, dict[str, Any]] = {
    # Llama SentencePiece: the tokenizer.json of llava-hf/llava-1.5-7b-hf, Salesforce/instructblip-vicuna-7b and
    # meta-llama/Llama-2-7b-chat-hf, written by transformers' LlamaConverter in its legacy form
    # (convert_slow_tokenizer.py: LlamaConverter.normalizer with add_prefix_space, .pre_tokenizer None, .decoder).
    "llama": {
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
            ],
        },
        "pre_tokenizer": None,
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
    },
    # GPT-2 byte-level BPE as OPT ships it: Salesforce/blip2-opt-2.7b's tokenizer.json, converted from
    # facebook/opt-2.7b's vocab.json + merges.txt by transformers' GPT2Converter (convert_slow_tokenizer.py: no
    # normaliser, ByteLevel(add_prefix_space=False) pre-tokeniser, ByteLevel() decoder, the other flags their defaults).
    "gpt2": {
        "normalizer": None,
        "pre_tokenizer": _byte_level(False, True, True),
        "decoder": _byte_level(True, True, True),
    },
    # Qwen2: the tokenizer.json of Qwen/Qwen2-0.5B-Instruct (and the Qwen2-7B family), which
    # llava-hf/llava-onevision-qwen2-0.5b-ov-hf saves with <image> and <video> added: NFC, then the split regex and
    # a ByteLevel without its own regex. transformers' Qwen2Converter (convert_slow_tokenizer.py) and Qwen2Tokenizer
    # build the same normaliser and split; the GGUF conversion drops the NFC.
    "qwen2": {
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
                _byte_level(False, False, False),
            ],
        },
        "decoder": _byte_level(False, False, False),
    },
    "bert": BERT_PIPELINE,  # harness.toy.gguf_wordpiece
}


def family(loaded: Any, spec: dict[str, Any]) -> str:
    """The vocabulary's family as transformers read it: a SentencePiece model (llama.cpp's "llama" tokenizer model,
    which transformers loads as a plain backend) or the byte-level class it picks for the file's architecture.
    `spec`: its tokenizer.json."""
    if spec["model"].get("byte_fallback"):
        return "llama"
    return {"GPT2Tokenizer": "gpt2", "Qwen2Tokenizer": "qwen2"}.get(type(loaded).__name__, type(loaded).__name__)


def load_gguf_tokenizer(path: Path) -> Any:
    """The tokenizer of a vocab-only GGUF file, as a transformers fast tokenizer of the model's own class."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, LlamaTokenizer

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no GGUF tokenizer file")
    if gguf_architecture(path) == "bert":
        return load_wordpiece_gguf(path)
    if gguf_architecture(path) == "gemma4":
        return load_gemma4_gguf(path)
    loaded = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    spec = json.loads(loaded.backend_tokenizer.to_str())
    kind = family(loaded, spec)
    if kind not in PUBLISHED_PIPELINES:
        raise InvalidInput(f"{path}: a {kind!r} vocabulary, whose published tokenizer.json is not known here")
    dropped = {t["id"] for t in spec["added_tokens"] if PLACEHOLDER.fullmatch(t["content"])}
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["id"] not in dropped]
    vocab = spec["model"]["vocab"]
    spec["model"]["vocab"] = {k: v for k, v in vocab.items() if v not in dropped}
    spec.update(PUBLISHED_PIPELINES[kind])
    backend = Tokenizer.from_str(json.dumps(spec))
    specials = {k: getattr(loaded, k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
    if kind == "llama":  # SentencePiece prepends BOS
        return LlamaTokenizer(tokenizer_object=backend, legacy=False, add_bos_token=True, **specials)
    return type(loaded)(tokenizer_object=backend, **specials)  # GPT2Tokenizer, Qwen2Tokenizer


def gguf_architecture(path: Path) -> str:
    """The file's `general.architecture`, read from its header alone (gguf-py's writer puts it first; reading the
    whole file takes seconds for the larger vocabularies). Empty when the first key is another."""
    with open(path, "rb") as f:
        magic, _version, _tensors, _keys, size = struct.unpack("<4sIQQQ", f.read(32))
        key = f.read(size).decode("utf-8", "replace")
        (kind,) = struct.unpack("<I", f.read(4))
        if magic != b"GGUF" or key != "general.architecture" or kind != 8:  # 8: a string value
            return ""
        (size,) = struct.unpack("<Q", f.read(8))
        return f.read(size).decode("utf-8")


# GGUF value types (gguf-py's GGUFValueType) with their struct codes; 8 is a string, 9 an array
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf_fields(path: Path) -> dict[str, Any]:
    """Every key/value field of a GGUF file (version 2 or 3), read with `struct` in under a second; gguf-py's
    `GGUFReader` takes ~40 s on Gemma 4's 262,144 tokens and 514,906 merges."""
    data = Path(path).read_bytes()
    magic, version, _tensors, count = struct.unpack_from("<4sIQQ", data, 0)
    if magic != b"GGUF" or version < 2:
        raise InvalidInput(f"{path}: not a GGUF (version 2 or 3) file")
    offset = 24

    def text(at: int) -> tuple[str, int]:
        (n,) = struct.unpack_from("<Q", data, at)
        return data[at + 8 : at + 8 + n].decode("utf-8"), at + 8 + n

    def value(kind: int, at: int) -> tuple[Any, int]:
        if kind == 8:
            return text(at)
        if kind == 9:
            sub, n = struct.unpack_from("<IQ", data, at)
            at += 12
            if sub == 8:
                items = []
                for _ in range(n):
                    item, at = text(at)
                    items.append(item)
                return items, at
            code = _SCALARS[sub]
            return list(struct.unpack_from(f"<{n}{code}", data, at)), at + struct.calcsize(code) * n
        code = _SCALARS[kind]
        return struct.unpack_from("<" + code, data, at)[0], at + struct.calcsize(code)

    fields: dict[str, Any] = {}
    for _ in range(count):
        key, offset = text(offset)
        (kind,) = struct.unpack_from("<I", data, offset)
        fields[key], offset = value(kind, offset + 4)
    return fields


# Gemma 4's multimodal markers, as its tokenizer_config.json names them (transformers' Gemma4Processor reads
# tokenizer.image_token / boi_token / eoi_token and the audio ones)
GEMMA4_MARKERS = {
    "image_token": "<|image|>",
    "boi_token": "<|image>",
    "eoi_token": "<image|>",
    "audio_token": "<|audio|>",
    "boa_token": "<|audio>",
    "eoa_token": "<audio|>",
}
CONTROL, USER_DEFINED = 3, 4  # llama.cpp's token types


def load_gemma4_gguf(path: Path) -> Any:
    """Gemma 4's tokenizer from llama.cpp's vocab-only file (its `gemma4` architecture is one transformers' GGUF
    reader refuses): transformers' `GemmaTokenizer`, whose own pipeline is the published one (BPE with byte
    fallback over the file's vocabulary and merges, spaces as "▁", no prefix space), with the file's control
    tokens added as special tokens and its user-defined ones (`<|"|>`, the tool-call markers) as plain added
    tokens, each on its id; BOS added as the file says."""
    from tokenizers import AddedToken
    from transformers import GemmaTokenizer

    fields = read_gguf_fields(path)
    pieces, kinds = fields["tokenizer.ggml.tokens"], fields["tokenizer.ggml.token_type"]
    vocab = {piece: i for i, piece in enumerate(pieces)}
    if len(vocab) != len(pieces):
        raise InvalidInput(f"{path}: {len(pieces) - len(vocab)} tokens are spelt twice")

    def role(key: str) -> str:
        return pieces[fields[f"tokenizer.ggml.{key}_token_id"]]

    tok = GemmaTokenizer(
        vocab=vocab,
        merges=[tuple(m.split(" ", 1)) for m in fields["tokenizer.ggml.merges"]],
        **{f"{k}_token": role(v) for k, v in {"bos": "bos", "eos": "eos", "unk": "unknown", "pad": "padding"}.items()},
        mask_token=role("mask"),
        add_bos_token=bool(fields.get("tokenizer.ggml.add_bos_token", True)),
        extra_special_tokens=GEMMA4_MARKERS,
    )
    added = [
        AddedToken(p, special=kinds[i] == CONTROL, normalized=False)
        for i, p in enumerate(pieces)
        if kinds[i] in (CONTROL, USER_DEFINED)
    ]
    tok.add_tokens(added)
    tok.chat_template = fields.get("tokenizer.chat_template")
    return tok


def add_published_tokens(tok: Any, added: dict[str, int]) -> None:
    """Add a model's special tokens in id order; each must land on its published id (the vocabulary fits)."""
    from tokenizers import AddedToken

    for content, want in sorted(added.items(), key=lambda kv: kv[1]):
        if tok.convert_tokens_to_ids(content) == want:
            continue
        tok.add_tokens([AddedToken(content, special=True, normalized=False)], special_tokens=True)
        got = tok.convert_tokens_to_ids(content)
        if got != want:
            raise InvalidInput(f"{content!r} was added as id {got}, but the model publishes {want}")

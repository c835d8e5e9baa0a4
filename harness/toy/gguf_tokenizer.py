"""Real tokenizer vocabularies from llama.cpp's vocab-only GGUF files, as the released models tokenize.

transformers reads the vocabulary, merges and special tokens (`gguf_file=`, which needs the `gguf` package, a test
dependency). Two corrections make the ids equal the released tokenizers' (and llama.cpp's test vectors):

- SentencePiece (Llama) vocabularies: SentencePiece puts its "▁" dummy prefix before every input, a leading space
  included. transformers' GGUF conversion uses `Metaspace(prepend_scheme="first")`, which leaves it out before a
  leading space (15 of llama.cpp's 46 Llama vectors differ). The released Llama tokenizer.json files (llava-hf's,
  for one) normalise with `Prepend("▁")` + `Replace(" ", "▁")` and no pre-tokenizer; that is what is built here.
- Padding placeholders: some files fill the vocabulary up to the embedding size with user-defined `[PAD…]` tokens
  (Qwen2: 290, from 151646 on). They are dropped, so that the tokens a model adds get the ids it publishes
  (`<image>` = 151646 in LLaVA-OneVision).

The tokens a model adds (`<image>`, `<pad>`, …) are added with `add_published_tokens`, each checked to land on its
published id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput

PLACEHOLDER = re.compile(r"\[PAD\d+\]")


def load_gguf_tokenizer(path: Path) -> Any:
    """The tokenizer of a vocab-only GGUF file, as a transformers fast tokenizer of the model's own class."""
    from tokenizers import Tokenizer, normalizers
    from transformers import AutoTokenizer, LlamaTokenizer

    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no GGUF tokenizer file")
    loaded = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    spec = json.loads(loaded.backend_tokenizer.to_str())
    dropped = {t["id"] for t in spec["added_tokens"] if PLACEHOLDER.fullmatch(t["content"])}
    spec["added_tokens"] = [t for t in spec["added_tokens"] if t["id"] not in dropped]
    vocab = spec["model"]["vocab"]
    spec["model"]["vocab"] = {k: v for k, v in vocab.items() if v not in dropped}
    backend = Tokenizer.from_str(json.dumps(spec))
    specials = {k: getattr(loaded, k) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
    if spec["model"].get("byte_fallback"):  # a SentencePiece vocabulary (llama.cpp's "llama" tokenizer model)
        backend.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        backend.pre_tokenizer = None
        return LlamaTokenizer(tokenizer_object=backend, legacy=False, add_bos_token=True, **specials)
    return type(loaded)(tokenizer_object=backend, **specials)  # GPT2Tokenizer, Qwen2Tokenizer


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

"""What the real-geometry builders share (`real_geometry`): the published entries, the GGUF vocabularies read
once, the shrink rule and the save step."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from harness.toy.gguf_tokenizer import add_published_tokens, load_gguf_tokenizer
from harness.toy.published_blip import PUBLISHED_BLIP
from harness.toy.published_llava import PUBLISHED_LLAVA
from harness.toy.tiny_llava import spread_weights

PUBLISHED: dict[str, dict[str, Any]] = {**PUBLISHED_LLAVA, **PUBLISHED_BLIP}
VOCAB_FILES = {
    "llama-spm": "ggml-vocab-llama-spm.gguf",
    "gpt-2": "ggml-vocab-gpt-2.gguf",
    "qwen2": "ggml-vocab-qwen2.gguf",
    "bert-bge": "ggml-vocab-bert-bge.gguf",  # bert-base-uncased's WordPiece: InstructBLIP's Q-Former
}
TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 2}
QFORMER = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
SIZE_KEYS = ("model_type", "projection_dim", "ffn_dim", "word_embed_proj_dim")


class Vocabularies:
    """The GGUF vocabularies of a folder, each read once (Qwen2's takes ~25 s) and copied per model."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._loaded: dict[str, Any] = {}

    def tokenizer(self, entry: dict[str, Any]) -> Any:
        """The family's tokenizer: its vocabulary plus the tokens, special-token roles and padding it publishes
        (or the stand-in ids where those cannot be had: `stand_ins["added"]`)."""
        spec = entry["tokenizer"]
        if spec["vocab"] not in self._loaded:
            self._loaded[spec["vocab"]] = load_gguf_tokenizer(self.folder / VOCAB_FILES[spec["vocab"]])
        tok = copy.deepcopy(self._loaded[spec["vocab"]])
        add_published_tokens(tok, entry.get("stand_ins", {}).get("added", spec["added"]))
        for role in ("bos", "eos", "unk", "pad"):
            if role in spec:
                setattr(tok, f"{role}_token", spec[role])
        if spec["vocab"] != "bert-bge":  # BERT's template is [CLS] $A [SEP] whatever its BOS ([DEC] for the Q-Former)
            tok.update_post_processor()  # the BOS it prepends is the one set (InstructBLIP's is </s>)
        if "padding_side" in spec:
            tok.padding_side = spec["padding_side"]
        for key in ("truncation_side", "model_max_length"):  # saved in tokenizer_config.json as published
            if key in spec:
                setattr(tok, key, spec[key])
                tok.init_kwargs[key] = spec[key]
        return tok


def shrunk(published: dict[str, Any], sizes: dict[str, int], **overrides: Any) -> dict[str, Any]:
    """A published sub-config with the sizes replaced (key/value heads scaled with the heads, GQA kept)."""
    out = {k: v for k, v in published.items() if k not in SIZE_KEYS}
    out.update(sizes)
    if "num_key_value_heads" in published:
        grouped = published["num_key_value_heads"] < published["num_attention_heads"]
        out["num_key_value_heads"] = sizes["num_attention_heads"] // (2 if grouped else 1)
    out.update(overrides)
    return out


def ids(tok: Any) -> dict[str, Any]:
    """The text config's special ids as this tokenizer numbers them."""
    return {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}


def save(model: torch.nn.Module, processor: Any, out: Path, seed: int) -> dict[str, Path]:
    spread_weights(model, seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return {"model": out}

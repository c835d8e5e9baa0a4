"""Real-geometry test models: each family's published configuration (`published_llava`, `published_blip`) with
depth and width shrunk, built with the real tokenizer vocabulary (`gguf_tokenizer`), the published processor
settings and chat template, random weights, saved with `save_pretrained` as the hub repositories are laid out.

Kept as published: vocabulary and special-token ids, image token index, image and patch size (so the image-token
counts are the real ones: 576 for LLaVA-1.5 at 336 px, any-res grids, 32 queries, 256 MiniGPT-v2 tokens), feature
layer and selection, projector, pinpoints, positions, norms' epsilons, tied embeddings. Shrunk: hidden sizes,
MLP sizes, head counts and block counts (`TEXT`, `VISION`, `QFORMER`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from harness.toy import real_geometry_blip, real_geometry_llava
from harness.toy.real_parts import PUBLISHED, Vocabularies

BUILDERS = {**real_geometry_llava.BUILDERS, **real_geometry_blip.BUILDERS}


def build_real(family: str, out: Path, vocabularies: Vocabularies, seed: int = 0) -> dict[str, Path]:
    """Build `family`'s real-geometry model into `out`; returns its paths (`model`, and for MiniGPT-v2 the
    stage and EVA checkpoints)."""
    entry = PUBLISHED[family]
    torch.manual_seed(seed)
    extra = {}
    if "qformer_tokenizer" in entry:  # InstructBLIP's Q-Former reads the prompt with its own (BERT) tokenizer
        extra["qformer_tok"] = vocabularies.tokenizer({"tokenizer": entry["qformer_tokenizer"]})
    return BUILDERS[family](Path(out), entry, vocabularies.tokenizer(entry), seed, **extra)

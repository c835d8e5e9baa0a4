"""Real-geometry Chameleon (see `real_geometry`): the published configuration (`published_chameleon`) with the
decoder and the VQ-VAE encoder's widths and depths shrunk, everything that fixes the token layout kept (vocab size
512 px crops, four downsamplings so 1024 image codes per image, the 8192-code book, the marker ids).

Chameleon's text vocabulary is not available offline, so the tokenizer is a stand-in: a byte-level BPE trained on
the toy corpus (`harness.toy.tokenizer.BASE_CORPUS`) whose first 8712 ids are Chameleon's published layout
(`<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3, the image codes `IMGIMG…Z` at 4-8195, `<eoss>` 8196, `<racm3:break>` 8197,
`<reservedNNNNN>` at NNNNN + 4 up to `<reserved08706>` 8710 (sep), `<image>` 8711); its text tokens follow, and the
decoder's vocab_size is the stand-in's length (about 9300) rather than the published 65536.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    ChameleonConfig,
    ChameleonForConditionalGeneration,
    ChameleonImageProcessor,
    ChameleonProcessor,
    PreTrainedTokenizerFast,
)

from harness.toy.published_chameleon import CHAMELEON, FIRST_IMAGE_ID, IMAGE_ID, N_IMAGE_CODES
from harness.toy.real_parts import TEXT, ids, save, shrunk
from harness.toy.tokenizer import BASE_CORPUS

# GroupNorm(32) in every VQ-VAE block: 32 channels is the narrowest width it allows, kept at every level (the
# five levels, so the four downsamplings, stay)
VQ = {"base_channels": 32, "channel_multiplier": [1] * 5, "num_res_blocks": 1, "embed_dim": 32, "latent_channels": 32}
TEXT_TOKENS = 600


def image_code_name(code: int) -> str:
    """The BPE token name of VQ code `code`: its decimal digits spelled A-J between IMGIMG and Z."""
    return "IMGIMG" + "".join(chr(ord("A") + int(d)) for d in str(code)) + "Z"


def published_layout(added: dict[str, int]) -> list[str]:
    """Token names for ids 0 .. max(added): the published ones where given, image codes, reserved names between."""
    names = {v: k for k, v in added.items()}
    names |= {FIRST_IMAGE_ID + c: image_code_name(c) for c in range(N_IMAGE_CODES)}
    return [names.get(i, f"<reserved{i - FIRST_IMAGE_ID:05d}>") for i in range(max(added.values()) + 1)]


def stand_in_tokenizer(spec: dict[str, Any]) -> PreTrainedTokenizerFast:
    """A byte-level BPE with Chameleon's special-token layout (ids as published) and BOS prepended."""
    layout = published_layout(spec["added"])
    assert layout[IMAGE_ID] == "<image>"
    tk = Tokenizer(models.BPE(unk_token=spec["unk"]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=len(layout) + TEXT_TOKENS,
        special_tokens=layout,  # placed first, in order: the published ids
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [ln for ln in BASE_CORPUS.splitlines() if ln.strip()] * 20
    tk.train_from_iterator(lines, trainer=trainer)
    bos = spec["bos"]
    tk.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tk.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token=bos,
        eos_token=spec["eos"],
        unk_token=spec["unk"],
        pad_token=spec["pad"],
        sep_token=spec["sep"],
    )


def build_chameleon(out: Path, entry: dict[str, Any], tok: Any, seed: int, crop: int | None = None) -> dict[str, Path]:
    """Chameleon with the published layout and shrunk sizes, saved as the hub repository is laid out. `crop`
    (pixels, a multiple of 16) replaces the 512 px crop for fast tests: (crop / 16)^2 image tokens."""
    cfg, ip, pp = entry["config"], dict(entry["image_processor"]), dict(entry["processor"])
    vq = {**{k: v for k, v in cfg["vq_config"].items() if k != "model_type"}, **VQ}
    if crop is not None:
        vq["resolution"] = crop
        ip |= {"size": {"shortest_edge": crop}, "crop_size": {"height": crop, "width": crop}}
        pp["image_seq_length"] = (crop // 16) ** 2
    # the stand-in's own length, not 65536: rows past it would be ids no tokenizer decodes (greedy answers empty)
    text = shrunk({k: v for k, v in cfg.items() if k != "vq_config"}, TEXT, vocab_size=len(tok), **ids(tok))
    config = ChameleonConfig(
        **{k: v for k, v in text.items() if k not in ("rope_theta",)},
        rope_parameters={"rope_type": "default", "rope_theta": cfg["rope_theta"]},
        vq_config=vq,
        vocabulary_map=tok.get_vocab(),
    )
    processor = ChameleonProcessor(
        image_processor=ChameleonImageProcessor(**{k: v for k, v in ip.items() if k != "class"}),
        tokenizer=tok,
        **{k: v for k, v in pp.items() if k != "class"},
    )
    return save(ChameleonForConditionalGeneration(config), processor, out, seed)


def build_real_chameleon(out: Path, seed: int = 0, crop: int | None = None) -> dict[str, Path]:
    """The real-geometry Chameleon with its stand-in tokenizer (no published vocabulary to read); `crop`: see
    `build_chameleon`."""
    torch.manual_seed(seed)
    return build_chameleon(Path(out), CHAMELEON, stand_in_tokenizer(CHAMELEON["tokenizer"]), seed, crop)

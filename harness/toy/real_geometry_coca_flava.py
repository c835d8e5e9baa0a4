"""Real-geometry CoCa and FLAVA for `--vlm clip` tests: the published configurations (`published_coca_flava`)
with widths, head counts and depths shrunk, random weights, saved as the releases are laid out.

Kept as published: image size and patch size (CoCa ViT-B/32: 224 px, 7x7 patches; FLAVA: 224 px, 14x14),
attentional pooling (256 queries, 8 pooler heads), CoCa's CLS-embedding text tower and 76-token context, FLAVA's
512 text positions, vocabularies (CLIP BPE, 49408; bert-base-uncased WordPiece, 30522), norms' epsilons,
activations, the image processors. Shrunk: `COCA_SIZES`, `FLAVA_SIZES`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch

from harness.toy.published_coca_flava import COCA, COCA_VISION_DEFAULTS, FLAVA
from harness.toy.real_parts import Vocabularies
from harness.toy.tiny_llava import spread_weights

COCA_SIZES = {
    "embed_dim": 32,
    "vision_cfg": {"layers": 2, "width": 64, "head_width": 32},
    "text_cfg": {"width": 32, "heads": 2, "layers": 2},
    "multimodal_cfg": {"width": 32, "heads": 2, "layers": 1},
}
FLAVA_SIZES = {"hidden_size": 32, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2}
FLAVA_TOP = {"projection_dim": 32, "hidden_size": 32}
CODEBOOK_SIZES = {"hidden_size": 16}


def coca_config(name: str = "coca_ViT-B-32") -> dict[str, Any]:
    """The published open_clip config of `name` with `COCA_SIZES` applied (pooler queries/heads kept)."""
    cfg = copy.deepcopy(COCA[name])
    cfg["embed_dim"] = COCA_SIZES["embed_dim"]
    cfg["vision_cfg"] = {**cfg["vision_cfg"], **COCA_VISION_DEFAULTS, **COCA_SIZES["vision_cfg"]}
    for part in ("text_cfg", "multimodal_cfg"):
        cfg[part] = {**cfg[part], **COCA_SIZES[part]}
    return cfg


def build_coca(out: Path, name: str = "coca_ViT-B-32", seed: int = 0) -> str:
    """Write `harness_<name>.json` (shrunk config) + `harness_<name>.pt` (a full `CoCa.state_dict()`) to `out`;
    returns the `open_clip:CONFIG@CHECKPOINT` spec."""
    import open_clip

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_path = out / f"harness_{name}.json"
    cfg_path.write_text(json.dumps(coca_config(name), indent=1))
    open_clip.add_model_config(cfg_path)
    torch.manual_seed(seed)
    model = open_clip.create_model(cfg_path.stem)
    ckpt = out / f"harness_{name}.pt"
    torch.save(model.state_dict(), ckpt)
    return f"open_clip:{cfg_path}@{ckpt}"


def flava_config() -> Any:
    from transformers import FlavaConfig

    pub = FLAVA["config"]
    parts = {k: {**pub[k], **FLAVA_SIZES} for k in ("image_config", "text_config", "multimodal_config")}
    parts["multimodal_config"]["num_hidden_layers"] = 1
    parts["image_codebook_config"] = {**FLAVA["image_codebook_config"], **CODEBOOK_SIZES}
    top = {k: v for k, v in pub.items() if k not in parts and k != "model_type"}
    return FlavaConfig(**{**top, **FLAVA_TOP}, **parts)


def build_flava(out: Path, vocabularies: Vocabularies, seed: int = 0, pretraining: bool = False) -> str:
    """Write a shrunk `FlavaModel` (safetensors), its BERT tokenizer and `FlavaImageProcessor` to `out`;
    returns the `hf:DIR` spec. `pretraining`: saved inside a `FlavaForPreTraining` (random codebook and heads) as
    facebook/flava-full is; its `flava.` weights are the same seed's `FlavaModel`."""
    from transformers import FlavaForPreTraining, FlavaImageProcessor, FlavaModel

    out = Path(out)
    tok = vocabularies.tokenizer({"tokenizer": FLAVA["tokenizer"]})
    torch.manual_seed(seed)
    model = FlavaModel(flava_config())
    spread_weights(model, seed)
    with torch.no_grad():  # the spread rewrote the temperature too: FLAVA's published init, exp(2.6592) = 1/0.07
        model.logit_scale.fill_(FLAVA["config"]["logit_scale_init_value"])
    if pretraining:
        full = FlavaForPreTraining(flava_config())
        full.flava.load_state_dict(model.state_dict())
        model = full
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    FlavaImageProcessor(**FLAVA["image_processor"]).save_pretrained(out)
    return f"hf:{out}"

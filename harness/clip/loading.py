"""`load_clip(spec)`: a `ClipModel` from a model spec string.

Specs:
- `hf:ID_OR_DIR`, or a directory / hub id (local HF cache only): transformers `CLIPModel` (or `SiglipModel`,
  tuned with the sigmoid loss; or `FlavaModel`, `harness.clip.flava`), with the directory's tokenizer and image
  processor.
- `open_clip:NAME[@PRETRAINED]`: `open_clip.create_model_and_transforms(NAME, pretrained=PRETRAINED)`;
  PRETRAINED is a tag (`openai`, already cached) or a checkpoint file; NAME may be a path to a model
  config `.json` (registered with `open_clip.add_model_config`). EVA01-g-14 is `open_clip:EVA01-g-14@FILE`;
  CoCa models (`coca_ViT-B-32`, `coca_ViT-L-14`) load the same way (`harness.clip.coca`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from harness.adapters.model_types import MODEL_TYPES
from harness.clip.models import ClipModel
from harness.errors import InputNotFound, InvalidInput

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_MODEL_TYPES = MODEL_TYPES["clip"]


def load_clip(spec: str, device: str | torch.device = "cpu", option: str = "--model") -> ClipModel:
    """The model for `spec`; errors name `option`, the command-line option that gave the spec."""
    family, name = parse_spec(spec)
    model = _load_open_clip(name, spec) if family == "open_clip" else _load_hf(name, spec, option)
    model.freeze()  # nothing trains until a method enables its parameters
    return model.to(device)


def parse_spec(spec: str) -> tuple[str, str]:
    """('hf' | 'open_clip', the rest)."""
    if spec.startswith("hf:"):
        return "hf", spec[3:]
    if spec.startswith("open_clip:"):
        return "open_clip", spec[len("open_clip:") :]
    if Path(spec).expanduser().is_dir():
        return "hf", spec
    if spec.split("@", 1)[0].endswith(".json"):
        return "open_clip", spec
    import open_clip

    if spec.split("@", 1)[0] in open_clip.list_models():
        return "open_clip", spec
    return "hf", spec


def check_clip_spec(spec: str, option: str = "--model") -> None:
    """What can be checked without loading: an HF directory is a complete CLIP, an open_clip file exists."""
    from harness.adapters.hf_loading import check_model_dir
    from harness.adapters.weights import resolve_model_dir

    family, name = parse_spec(spec)
    if family == "hf":
        check_model_dir(resolve_model_dir(name, option), option, CLIP_MODEL_TYPES)
        return
    model_name, _, pretrained = name.partition("@")
    for part in (model_name, pretrained):
        if part.endswith((".json", ".pt", ".pth", ".bin", ".safetensors")) and not Path(part).expanduser().is_file():
            raise InputNotFound(f"{option} {spec!r}: no file {part}")


def _load_hf(name: str, spec: str, option: str = "--model") -> ClipModel:
    import transformers
    from transformers import (
        AutoConfig,
        AutoTokenizer,
        CLIPImageProcessor,
        CLIPModel,
        SiglipImageProcessor,
        SiglipModel,
    )

    from harness.adapters.hf_loading import check_model_dir, load_complete
    from harness.adapters.weights import resolve_model_dir
    from harness.clip.hf_model import HFClip
    from harness.clip.siglip_model import HFSiglip

    model_dir = resolve_model_dir(name, option)
    check_model_dir(model_dir, option, CLIP_MODEL_TYPES)
    transformers.utils.logging.disable_progress_bar()
    model_type = AutoConfig.from_pretrained(model_dir).model_type
    if model_type == "flava":
        from harness.clip.flava import load_flava

        return load_flava(model_dir, spec, option)
    siglip = model_type == "siglip"
    net = load_complete(SiglipModel if siglip else CLIPModel, model_dir, option, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(model_dir)
    max_len = min(int(tok.model_max_length), int(net.config.text_config.max_position_embeddings))
    size = int(net.config.vision_config.image_size)
    if (Path(model_dir) / "preprocessor_config.json").is_file():
        proc = (SiglipImageProcessor if siglip else CLIPImageProcessor).from_pretrained(model_dir)
    elif siglip:  # SigLIP's preprocessing: resize to the square input, mean = std = 0.5
        proc = SiglipImageProcessor(size={"height": size, "width": size}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    else:
        proc = CLIPImageProcessor(
            size={"shortest_edge": size},
            crop_size={"height": size, "width": size},
            image_mean=list(OPENAI_MEAN),
            image_std=list(OPENAI_STD),
        )

    def tokenize(texts: list[str]):
        return tok(texts, padding="max_length", max_length=max_len, truncation=True, return_tensors="pt")

    def transform(image):
        return proc(images=image, return_tensors="pt")["pixel_values"][0]

    wrapper = HFSiglip if siglip else HFClip
    return wrapper(net.eval(), tokenize, transform, size, tuple(proc.image_mean), tuple(proc.image_std), spec)


def _load_open_clip(name: str, spec: str) -> ClipModel:
    import open_clip

    import harness.clip.tiny_eva  # noqa: F401  registers the tiny timm EVA used by tests and demos
    from harness.clip.coca import CocaClip, is_coca
    from harness.clip.openclip_model import OpenClip

    model_name, _, pretrained = name.partition("@")
    if model_name.endswith(".json"):
        path = Path(model_name).expanduser()
        if not path.is_file():
            raise InputNotFound(f"open_clip model config {path} not found")
        open_clip.add_model_config(path)
        model_name = path.stem
    if pretrained and Path(pretrained).expanduser().exists():
        pretrained = str(Path(pretrained).expanduser())
    try:
        net, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained or None)
    except RuntimeError as e:
        raise InvalidInput(f"open_clip could not build {model_name!r} with pretrained={pretrained!r}: {e}") from e
    cfg = open_clip.get_model_preprocess_cfg(net)
    size = cfg.get("size", 224)
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    tok = open_clip.get_tokenizer(model_name)
    wrapper = CocaClip if is_coca(net) else OpenClip
    return wrapper(
        net.eval(), tok, preprocess, size, tuple(cfg.get("mean", OPENAI_MEAN)), tuple(cfg.get("std", OPENAI_STD)), spec
    )

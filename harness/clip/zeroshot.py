"""CLIP zero-shot classification: class embeddings averaged over templates, top-k accuracy.

Per class, every template's text feature is L2-normalised, the features are averaged and the mean is
normalised again (CLIP's recipe); logits = logit_scale * normalised image features @ class embeddings.T.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from harness.clip.models import ClipModel

ImageLike = Image.Image | str | Path


@dataclass
class ZeroShotResult:
    logits: torch.Tensor  # [N, C]
    topk: torch.Tensor  # [N, max k] class indices, best first
    accuracy: dict[str, float] | None  # {"top1": ..., "top5": ...} when labels were given

    @property
    def predictions(self) -> list[int]:
        return self.topk[:, 0].tolist()


@torch.no_grad()
def class_embeddings(
    model: ClipModel, class_names: Sequence[str], templates: Sequence[str], batch_size: int = 256
) -> torch.Tensor:
    """[C, E] normalised mean (over templates) of normalised text features."""
    texts = [t.format(c) for c in class_names for t in templates]
    feats = torch.cat(
        [model.encode_text(model.tokenize(texts[i : i + batch_size])).float() for i in range(0, len(texts), batch_size)]
    )
    feats = F.normalize(feats, dim=-1).reshape(len(class_names), len(templates), -1).mean(dim=1)
    return F.normalize(feats, dim=-1)


@torch.no_grad()
def image_features(model: ClipModel, images: Sequence[ImageLike] | torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """[N, E] normalised image features; PIL images / paths go through the model's eval transform."""
    if isinstance(images, torch.Tensor):
        chunks = [images[i : i + batch_size] for i in range(0, len(images), batch_size)]
    else:
        chunks = [
            torch.stack([model.eval_transform(_rgb(im)) for im in images[i : i + batch_size]])
            for i in range(0, len(images), batch_size)
        ]
    feats = [model.encode_image(c.to(model.device)).float() for c in chunks]
    return F.normalize(torch.cat(feats), dim=-1)


@torch.no_grad()
def zero_shot_classify(
    model: ClipModel,
    images: Sequence[ImageLike] | torch.Tensor,
    class_names: Sequence[str],
    templates: Sequence[str],
    top_k: Sequence[int] = (1, 5),
    labels: Sequence[int] | None = None,
    batch_size: int = 64,
) -> ZeroShotResult:
    """Classify `images` among `class_names`; top-k accuracies when `labels` are given.

    k larger than the number of classes is capped (so top-5 over 3 classes is 1.0).
    """
    was_training = model.training
    model.eval()
    weights = class_embeddings(model, class_names, templates)
    logits = model.logit_scale().float() * image_features(model, images, batch_size) @ weights.t()
    kmax = min(max(top_k), len(class_names))
    top = logits.topk(kmax, dim=-1).indices.cpu()
    acc = None
    if labels is not None:
        y = torch.as_tensor(list(labels)).reshape(-1, 1)
        if len(y) != len(top):
            raise ValueError(f"{len(y)} labels for {len(top)} images")
        acc = {f"top{k}": float((top[:, : min(k, kmax)] == y).any(dim=1).float().mean()) for k in top_k}
    model.train(was_training)
    return ZeroShotResult(logits.cpu(), top, acc)


def _rgb(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    with Image.open(image) as im:
        return im.convert("RGB")

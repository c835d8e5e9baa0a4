"""CLIP's symmetric contrastive loss (SigLIP's sigmoid loss for models with a logit bias) over in-batch pairs,
SPU's importance loss, and text features.

Same-class pairs in a batch count as negatives, as in the released code. When the text tower is
frozen, the text features of every (class, template) pair are computed once (`TextBank`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.clip.data import CaptionedImages
from harness.clip.models import ClipModel


class TextBank:
    """Normalised text features for (class, template) index pairs; cached unless `live`."""

    def __init__(self, model: ClipModel, data: CaptionedImages, live: bool = False, batch_size: int = 256):
        self.model, self.data, self.live = model, data, live
        self.n_templates = len(data.templates)
        self.cache: torch.Tensor | None = None
        if not live:
            texts = [data.text(c, t) for c in range(len(data.class_names)) for t in range(self.n_templates)]
            with torch.no_grad():
                feats = [
                    model.encode_text(model.tokenize(texts[i : i + batch_size]))
                    for i in range(0, len(texts), batch_size)
                ]
            self.cache = F.normalize(torch.cat(feats).float(), dim=-1)

    def features(self, classes: torch.Tensor, templates: torch.Tensor) -> torch.Tensor:
        if self.cache is not None:
            return self.cache[(classes * self.n_templates + templates).to(self.cache.device)]
        texts = [self.data.text(int(c), int(t)) for c, t in zip(classes, templates)]
        return F.normalize(self.model.encode_text(self.model.tokenize(texts)).float(), dim=-1)


def batch_logits(
    model: ClipModel, bank: TextBank, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """logits_per_image = logit_scale * normalised image features @ normalised text features.T (+ logit_bias)."""
    pixels, classes, templates = batch
    img = F.normalize(model.encode_image(pixels.to(model.device)).float(), dim=-1)
    txt = bank.features(classes, templates)
    logits = model.logit_scale().float() * img @ txt.t()
    bias = model.logit_bias()
    return logits if bias is None else logits + bias.float()


def clip_loss(logits_per_image: torch.Tensor) -> torch.Tensor:
    labels = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    return 0.5 * (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.t(), labels))


def sigmoid_loss(logits_per_image: torch.Tensor) -> torch.Tensor:
    """SigLIP's pairwise loss (Zhai et al. 2023, eq. 1): -log sigmoid(z_ij * logit_ij), z = +1 for the matching
    pair and -1 otherwise, summed over pairs and divided by the batch size."""
    n = logits_per_image.shape[0]
    z = 2 * torch.eye(n, device=logits_per_image.device) - 1
    return -F.logsigmoid(z * logits_per_image).sum() / n


def contrastive_loss(model: ClipModel, bank: TextBank, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    logits = batch_logits(model, bank, batch)
    return clip_loss(logits) if model.logit_bias() is None else sigmoid_loss(logits)


def spu_importance_loss(model: ClipModel, bank: TextBank, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """SPU's released, label-free score loss: mean over images of ||logits_per_image row||_2^2."""
    return batch_logits(model, bank, batch).pow(2).sum(dim=1).mean()

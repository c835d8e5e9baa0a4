"""What a tuning run minimises: one `Objective` per kind of model, the same for training and for the importance
scores of LoRSU and SPU.

- `ContrastiveObjective`: CLIP's (SigLIP's) in-batch contrastive loss over captioned images (`harness.tune.loss`);
  SPU's released importance loss is its label-free ||logits||^2.
- `AnswerObjective` (`harness.tune.vlm_objective`): the VLM's cross-entropy over the answer tokens.

A batch is a tuple whose first entry has one element per sample (pixels, or images).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from harness.tune.loss import TextBank, contrastive_loss, spu_importance_loss


class Objective(ABC):
    name: str = ""

    @abstractmethod
    def loss(self, model: Any, batch: tuple) -> torch.Tensor:
        """The training loss of one batch (a scalar with gradients into the trainable weights)."""

    def spu_loss(self, model: Any, batch: tuple) -> torch.Tensor:
        """SPU's importance loss; the training loss unless the objective has a released alternative."""
        return self.loss(model, batch)

    @staticmethod
    def batch_size(batch: tuple) -> int:
        return len(batch[0])


class ContrastiveObjective(Objective):
    """CLIP / SigLIP contrastive loss against the text features of `bank`."""

    name = "contrastive"

    def __init__(self, bank: TextBank):
        self.bank = bank

    def loss(self, model: Any, batch: tuple) -> torch.Tensor:
        return contrastive_loss(model, self.bank, batch)

    def spu_loss(self, model: Any, batch: tuple) -> torch.Tensor:
        return spu_importance_loss(model, self.bank, batch)

"""Training loaders for encoder tuning: the released augmentation and a seeded, shuffled loader over
`CaptionedImages` (the template of each sample drawn per fetch, as released)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from harness.clip.data import CaptionedImages
from harness.errors import InvalidInput


def train_transform(
    image_size: int, mean: Sequence[float], std: Sequence[float], augment: str = "released"
) -> Callable[[Image.Image], torch.Tensor]:
    """LoRSU's training transform (RandomResizedCrop 0.9-1, colour jitter p=0.8, grayscale p=0.2).

    `augment="none"`: resize + centre crop only.
    """
    from torchvision import transforms as T

    norm = [T.ToTensor(), T.Normalize(list(mean), list(std))]
    if augment == "none":
        return T.Compose(
            [T.Resize(image_size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(image_size), *norm]
        )
    if augment != "released":
        raise InvalidInput(f"augment must be 'released' or 'none', got {augment!r}")
    return T.Compose(
        [
            T.RandomResizedCrop(image_size, scale=(0.9, 1.0), interpolation=T.InterpolationMode.BICUBIC),
            T.RandomApply([T.ColorJitter(0.32, 0.32, 0.32, 0.08)], p=0.8),
            T.RandomGrayscale(p=0.2),
            *norm,
        ]
    )


class _TrainSet(Dataset):
    """(pixels, class index, template index); the template is drawn per fetch, as released."""

    def __init__(self, data: CaptionedImages, transform: Callable[[Image.Image], torch.Tensor]):
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        t = int(torch.randint(len(self.data.templates), ())) if len(self.data.templates) > 1 else 0
        return self.transform(self.data.image(i)), self.data.samples[i][1], t


def train_loader(
    data: CaptionedImages,
    transform: Callable[[Image.Image], torch.Tensor],
    batch_size: int,
    seed: int,
    workers: int = 0,
) -> DataLoader:
    """Shuffled loader (seeded); drops the last partial batch when there is more than one batch."""
    g = torch.Generator().manual_seed(seed)
    return DataLoader(
        _TrainSet(data, transform),
        batch_size=batch_size,
        shuffle=True,
        generator=g,
        drop_last=len(data) > batch_size,
        num_workers=workers,
        worker_init_fn=_seed_worker if workers else None,
    )


def _seed_worker(worker_id: int) -> None:
    random.seed(torch.initial_seed() % 2**32)

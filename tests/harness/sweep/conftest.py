"""Sweep fixtures: encoder checkpoints for the committed toy LLaVA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from harness.toy.build import MODELS_DIR

TOY_LLAVA = MODELS_DIR / "llava"


def toy_encoders(folder: Path, n: int = 3) -> list[Path]:
    """`n` perturbed copies of the toy CLIP's vision tower (HF CLIP safetensors)."""
    sd = {k: v.float() for k, v in load_file(MODELS_DIR / "clip" / "model.safetensors").items()}
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        g = torch.Generator().manual_seed(i)
        tensors = {
            k: (v + 0.02 * (i + 1) * torch.randn(v.shape, generator=g)).contiguous()
            for k, v in sd.items()
            if k.startswith("vision_model.") and "position_ids" not in k
        }
        paths.append(folder / f"enc{i}.safetensors")
        save_file(tensors, paths[-1])
    return paths


@pytest.fixture(scope="session")
def encoder_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweep_encoders")
    toy_encoders(folder)
    return folder

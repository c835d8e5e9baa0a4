"""Tiny CLIPs of both families (HF CLIPModel, open_clip ViT, open_clip timm EVA) and a tiny SigLIP, built once
per session.

Each test loads a fresh model from the saved files through `load_clip`, like a real run. Torch runs on
one thread here: on a shared 2-core machine multi-threaded kernels of this size are ~50x slower.
"""

from __future__ import annotations

import pytest
import torch

from harness.toy.tiny_clip import build_tiny_hf_clip, build_tiny_open_clip

FAMILIES = ("hf", "vit", "eva")
# Seeds at which the random text tower tells the five colour captions apart (checked in test_learning).
SEEDS = {"hf": 3, "vit": 0, "eva": 1}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def clip_specs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("tiny_clips")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {
            "hf": "hf:" + str(build_tiny_hf_clip(root / "hf", seed=SEEDS["hf"])),
            "vit": build_tiny_open_clip(root / "vit", "vit", seed=SEEDS["vit"]),
            "eva": build_tiny_open_clip(root / "eva", "eva", seed=SEEDS["eva"]),
        }
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def siglip_spec(tmp_path_factory) -> str:
    """A tiny transformers SigLIP (`harness.toy.tiny_clip.build_tiny_hf_siglip`)."""
    from harness.toy.tiny_clip import build_tiny_hf_siglip

    return "hf:" + str(build_tiny_hf_siglip(tmp_path_factory.mktemp("siglip")))


@pytest.fixture(scope="session")
def shapes():
    from harness.toy.tiny_clip import shapes_data

    return shapes_data(100, seed=0, templates=("{}",))

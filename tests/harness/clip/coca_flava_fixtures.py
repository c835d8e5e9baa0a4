"""Real-geometry CoCa and FLAVA (`harness.toy.real_geometry_coca_flava`), a shapes set, and one tuned export of each,
built once per session; tests load fresh models from the saved files through `load_clip`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.toy.real_geometry_coca_flava import build_coca, build_flava
from harness.toy.real_parts import Vocabularies
from harness.toy.tiny_clip import shapes_data

TOKENIZERS = Path(__file__).resolve().parents[2] / "data" / "tokenizers"
TEMPLATES = ("a photo of a {} shape.", "a {} thing.")


def _one_thread(build):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return build()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def coca_spec(tmp_path_factory) -> str:
    return _one_thread(lambda: build_coca(tmp_path_factory.mktemp("coca")))


@pytest.fixture(scope="session")
def coca_l14_spec(tmp_path_factory) -> str:
    return _one_thread(lambda: build_coca(tmp_path_factory.mktemp("coca_l14"), "coca_ViT-L-14"))


@pytest.fixture(scope="session")
def flava_spec(tmp_path_factory) -> str:
    return _one_thread(lambda: build_flava(tmp_path_factory.mktemp("flava"), Vocabularies(TOKENIZERS)))


@pytest.fixture(scope="session")
def colours():
    """20 tinted shape images captioned by colour, two templates (the zero-shot and tuning set)."""
    return shapes_data(20, seed=0, templates=TEMPLATES)


def tune_once(spec: str, data, out: Path, method: str = "fft"):
    """(tuned model, its session-1 export) after `method` on `data` (2 epochs)."""
    from harness.clip.loading import load_clip
    from harness.tune.run import tune
    from tests.harness.tune.util import quick_cfg

    model = load_clip(spec)
    record = tune(model, data, quick_cfg(method, epochs=2, batch_size=10, importance_samples=10), out, progress=False)
    return model, record, out / "session-1" / record["sessions"][0]["files"]["release"]

"""Shared fixtures: tiny real models built from configs, saved and re-loaded through from_pretrained."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from harness.toy.tiny_llava import TinySpec, build_tiny_llava, build_tiny_open_clip_checkpoint


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory) -> Path:
    return build_tiny_llava(tmp_path_factory.mktemp("tiny_llava"))


@pytest.fixture(scope="session")
def tiny_llava(tiny_llava_dir):
    from harness.adapters.llava import LlavaAdapter

    return LlavaAdapter.load(str(tiny_llava_dir), dtype="float32", device="cpu")


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """The VLM families loaded while the test runs (harness.eval.vlm.load_vlm, counted and then called)."""
    from harness.eval import vlm as vlm_mod

    seen: list[str] = []
    real = vlm_mod.load_vlm

    def counting(*a, **kw):
        seen.append(a[0])
        return real(*a, **kw)

    monkeypatch.setattr(vlm_mod, "load_vlm", counting)
    return seen


@pytest.fixture(scope="session")
def tiny_open_clip_ckpt(tmp_path_factory) -> Path:
    return build_tiny_open_clip_checkpoint(tmp_path_factory.mktemp("enc") / "open_clip.pt", TinySpec())


def random_image(seed: int, size: int = 40) -> Image.Image:
    rng = random.Random(seed)
    im = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(30):
        x, y = rng.randrange(size), rng.randrange(size)
        im.putpixel((x, y), tuple(rng.randrange(256) for _ in range(3)))
    return im


TOKENIZERS = Path(__file__).parent / "data" / "tokenizers"


@pytest.fixture(scope="session")
def vocabularies():
    """The real vocabularies (llama.cpp's GGUF files in tests/data/tokenizers), each read once per session."""
    from harness.toy.real_parts import Vocabularies

    return Vocabularies(TOKENIZERS)


@pytest.fixture(scope="session")
def real_model(vocabularies, tmp_path_factory):
    """family -> the paths of its real-geometry model (`harness.toy.real_geometry`), built once per session."""
    from harness.toy.real_geometry import build_real

    built: dict[str, dict[str, Path]] = {}

    def get(family: str) -> dict[str, Path]:
        if family not in built:
            built[family] = build_real(family, tmp_path_factory.mktemp(f"real_{family}"), vocabularies)
        return built[family]

    return get


@pytest.fixture(scope="session")
def real_adapter(real_model):
    """family -> its real-geometry model loaded through the harness's own loader (fp32, CPU), once per session."""
    from harness.adapters.registry import load_vlm

    loaded: dict[str, object] = {}

    def get(family: str):
        if family not in loaded:
            paths = real_model(family)
            extra = {k: str(p) for k, p in paths.items() if k != "model"}
            loaded[family] = load_vlm(family, str(paths["model"]), "float32", "cpu", **extra)
        return loaded[family]

    return get

"""Tiny models of every VLM family (built from configs, saved and loaded through the harness's own loaders), and
the plain transformers forward with `labels` that the VLM objective must equal."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FAMILIES = ("llava", "llava_next", "llava_onevision", "blip2", "instructblip", "minigptv2")


def build_tiny(family: str, root: Path) -> dict[str, Path]:
    from harness.toy.tiny_llava import build_tiny_llava
    from harness.toy.tiny_minigptv2 import build_tiny_minigptv2
    from tests.harness.adapters.tiny_blip import build_tiny_blip2, build_tiny_instructblip
    from tests.harness.adapters.tiny_families import build_tiny_llava_next, build_tiny_onevision

    builders = {
        "llava": build_tiny_llava,
        "llava_next": build_tiny_llava_next,
        "llava_onevision": build_tiny_onevision,
        "blip2": build_tiny_blip2,
        "instructblip": build_tiny_instructblip,
    }
    if family == "minigptv2":
        return build_tiny_minigptv2(root)
    return {"model": builders[family](root)}


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory):
    """family -> a freshly loaded tiny adapter (each call loads anew: tuning tests change the weights)."""
    from harness.adapters.registry import load_vlm

    built: dict[str, dict[str, Path]] = {}

    def get(family: str):
        if family not in built:
            built[family] = build_tiny(family, tmp_path_factory.mktemp(f"tiny_{family}"))
        paths = built[family]
        extra = {k: str(p) for k, p in paths.items() if k != "model"}
        return load_vlm(family, str(paths["model"]), "float32", "cpu", **extra)

    return get


def plain_answer_loss(adapter, image, ids: list[int], n_context: int) -> torch.Tensor:
    """Cross-entropy over ids[n_context:] from one unpadded forward of the unmodified model with `labels` (the
    model's own shift and mean); MiniGPT-v2, which is assembled from parts, through its Llama with `labels`."""
    x = torch.tensor([ids])
    labels = torch.tensor([[-100] * n_context + ids[n_context:]])
    if adapter.family == "minigptv2":
        embeds = adapter.model.embed(x, adapter.model.encode_img(adapter.pixel_values([image])))
        return adapter.model.llama_model(inputs_embeds=embeds, attention_mask=torch.ones_like(x), labels=labels).loss
    inputs = dict(adapter.image_inputs([image]))
    if adapter.family == "instructblip":
        inputs.update(adapter.qformer_inputs([ids[:n_context]]))
    return adapter.model(input_ids=x, attention_mask=torch.ones_like(x), labels=labels, **inputs).loss

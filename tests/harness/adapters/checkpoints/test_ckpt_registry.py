"""The registry can take another target tower and its conversions (the MiniGPT-v2 EVA path)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from harness.adapters.checkpoints import (
    CheckpointFormat,
    TowerKind,
    detect_format,
    register_format,
    register_tower_kind,
    registry,
    swap_encoder,
    towers,
)


class ToyEva(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = torch.nn.ModuleList([torch.nn.Module()])
        self.blocks[0].attn = torch.nn.Module()
        self.blocks[0].attn.qkv = torch.nn.Linear(2, 6)


@pytest.fixture
def fresh_registry(monkeypatch):
    monkeypatch.setattr(registry, "_FORMATS", registry.formats())
    monkeypatch.setattr(towers, "_TOWERS", towers.tower_kinds())


def _eva_kind(block_of) -> TowerKind:
    """A minimal EVA ViT tower kind registered from outside the package, as a plug-in would."""
    return TowerKind(
        family="eva_vit",
        title="EVA ViT",
        used_by="MiniGPT-v2",
        matches=lambda sd: any(k.startswith("blocks.") for k in sd),
        structure_problems=lambda c, t, interp: [],
        align_positions=lambda c, t: (c, None),
        block_of=block_of,
    )


def test_eva_tower_and_conversion_can_be_added(fresh_registry, tmp_path):
    lavis = CheckpointFormat(
        name="eva_lavis",
        description="toy LAVIS EVA",
        family="eva_vit",
        family_title="an EVA-CLIP",
        detect=lambda keys, ts: any(k.startswith("visual_encoder.blocks.") for k in keys),
        convert=lambda sd: {k.removeprefix("visual_encoder."): v for k, v in sd.items()},
        unused=lambda k: k.startswith("ln_vision."),
    )
    register_format(lavis, before="eva_clip")
    register_tower_kind(_eva_kind(block_of=lambda name: ".".join(name.split(".")[:2])))
    with pytest.raises(ValueError, match="already registered"):
        register_format(lavis)
    names = [f.name for f in registry.formats()]
    assert names[names.index("eva_clip") - 1] == "eva_lavis"  # tried right before the built-in EVA detector

    weight, bias = torch.randn(6, 2), torch.randn(6)
    path = tmp_path / "eva.safetensors"
    save_file(
        {
            "visual_encoder.blocks.0.attn.qkv.weight": weight,
            "visual_encoder.blocks.0.attn.qkv.bias": bias,
            "ln_vision.weight": torch.ones(2),
        },
        path,
    )
    assert detect_format(["visual_encoder.blocks.0.attn.qkv.weight"]).name == "eva_lavis"
    tower = ToyEva()
    report = swap_encoder(tower, path)
    assert report.tower == "EVA ViT" and report.ignored == ["ln_vision.weight"]
    assert torch.equal(tower.blocks[0].attn.qkv.weight, weight)
    assert list(report.max_abs_change) == ["blocks.0"]


def test_clip_checkpoint_refused_by_the_eva_tower(fresh_registry, kit, tmp_path):
    register_tower_kind(_eva_kind(block_of=lambda name: name))
    path = tmp_path / "clip.pt"
    torch.save(kit.make_open_clip().state_dict(), path)
    with pytest.raises(ValueError, match="this is a CLIP ViT checkpoint; the MiniGPT-v2 tower is an EVA ViT"):
        swap_encoder(ToyEva(), path)

"""The tower kinds a checkpoint can be loaded into (CLIP ViT, SigLIP ViT, EVA ViT-g), in matching order."""

from __future__ import annotations

from . import clip_tower, eva_tower, siglip_tower
from .kinds import StateDict, TowerKind

# SigLIP before CLIP: both have q/k/v projections, only SigLIP lacks the CLS embedding.
_TOWERS: list[TowerKind] = [siglip_tower.SIGLIP_VIT, clip_tower.CLIP_VIT, eva_tower.EVA_VIT]


def register_tower_kind(kind: TowerKind) -> None:
    _TOWERS.append(kind)


def tower_kinds() -> list[TowerKind]:
    return list(_TOWERS)


def tower_kind_for(tower_state: StateDict) -> TowerKind | None:
    return next((k for k in tower_kinds() if k.matches(tower_state)), None)

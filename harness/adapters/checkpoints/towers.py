"""The tower kinds a checkpoint can be loaded into (CLIP ViT, SigLIP ViT, EVA ViT-g), in matching order."""

from __future__ import annotations

from . import clip_tower, eva_tower, flava_tower, hf_gemma4_vision, hf_qwen3_vit, hf_qwen_vit, siglip_tower
from .kinds import StateDict, TowerKind

# SigLIP before CLIP: both have q/k/v projections, only SigLIP lacks the CLS embedding.
_TOWERS: list[TowerKind] = [siglip_tower.SIGLIP_VIT, clip_tower.CLIP_VIT, eva_tower.EVA_VIT, flava_tower.FLAVA_VIT]
_TOWERS.append(hf_qwen_vit.QWEN_VIT)
_TOWERS.append(hf_qwen3_vit.QWEN3_VIT)
_TOWERS.append(hf_gemma4_vision.GEMMA4_VIT)  # Gemma 4's ViT (patch_embedder.input_proj)


def register_tower_kind(kind: TowerKind) -> None:
    _TOWERS.append(kind)


def tower_kinds() -> list[TowerKind]:
    return list(_TOWERS)


def tower_kind_for(tower_state: StateDict) -> TowerKind | None:
    return next((k for k in tower_kinds() if k.matches(tower_state)), None)

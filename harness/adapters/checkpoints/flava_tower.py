"""The FLAVA image tower (`FlavaModel.image_model` + `image_projection`, in `FlavaModel` names): geometry checks;
positions are never resized (FLAVA checkpoints of other grids are refused by the shape check)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from .flava import ATTENTION
from .geometry import shape_problems
from .kinds import TowerKind

CLS_KEY = "image_model.embeddings.cls_token"
PATCH_KEY = "image_model.embeddings.patch_embeddings.projection.weight"
POS_KEY = "image_model.embeddings.position_embeddings"
_LAYER = re.compile(r"^image_model\.encoder\.layer\.(\d+)\.")


def matches(tower: Mapping[str, torch.Tensor]) -> bool:
    return CLS_KEY in tower and any(ATTENTION.match(k) for k in tower)


def block_of(name: str) -> str:
    """'layer.N', or the first two name parts ('image_model.embeddings', 'image_projection.weight')."""
    m = _LAYER.match(name)
    return f"layer.{m.group(1)}" if m else ".".join(name.split(".")[:2])


def geometry(sd: Mapping[str, torch.Tensor]) -> dict[str, int | None]:
    layers = [int(m.group(1)) for k in sd if (m := _LAYER.match(k))]
    patch = sd.get(PATCH_KEY)
    mlp = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("intermediate.dense.weight")), None)
    return {
        "blocks": max(layers) + 1 if layers else None,
        "width": int(sd[CLS_KEY].shape[-1]) if CLS_KEY in sd else None,
        "mlp": mlp,
        "patch": int(patch.shape[-1]) if patch is not None and patch.dim() == 4 else None,
    }


def structure_problems(ckpt: Mapping[str, torch.Tensor], tower: Mapping[str, torch.Tensor], _: bool) -> list[str]:
    problems = shape_problems(geometry(ckpt), geometry(tower))
    if POS_KEY in ckpt and POS_KEY in tower and ckpt[POS_KEY].shape != tower[POS_KEY].shape:
        problems.append(
            f"position grid: checkpoint {tuple(ckpt[POS_KEY].shape)}, tower {tuple(tower[POS_KEY].shape)} "
            "(FLAVA positions are not resized)"
        )
    return problems


def keep_positions(ckpt: dict[str, torch.Tensor], tower: Mapping[str, torch.Tensor]):
    return ckpt, None


FLAVA_VIT = TowerKind(
    family="flava_vit",
    title="FLAVA ViT",
    used_by="FLAVA",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=keep_positions,
    block_of=block_of,
)

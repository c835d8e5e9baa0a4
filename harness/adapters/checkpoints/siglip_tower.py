"""The transformers `SiglipVisionModel` tower (LLaVA-OneVision's): geometry checks, block dropping, positions.

A SigLIP ViT has no CLS token (the position embedding is the bare patch grid) and no pre-norm; its pooling
head (`head.*`, multihead attention pooling) is unused by VLMs, whose towers may be built without it.
SigLIP-SO400M has 27 blocks and LLaVA-OneVision's tower 26: a checkpoint exactly one block deeper than the
tower loses its last block (said in the report); any other depth mismatch is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from .geometry import drop_extra_block, shape_problems
from .kinds import TowerKind

StateDict = Mapping[str, torch.Tensor]
POS_KEY = "embeddings.position_embedding.weight"
PATCH_KEY = "embeddings.patch_embedding.weight"
_LAYER = re.compile(r"^encoder\.layers\.(\d+)\.")


def matches(tower: StateDict) -> bool:
    """Separate q/k/v projections like CLIP, but no CLS embedding and no pre-norm."""
    return (
        PATCH_KEY in tower
        and any(k.endswith("self_attn.q_proj.weight") for k in tower)
        and "embeddings.class_embedding" not in tower
        and not any(k.startswith("pre_layrnorm.") for k in tower)
    )


def block_of(name: str) -> str:
    m = _LAYER.match(name)
    return f"layer.{m.group(1)}" if m else name.split(".", 1)[0]


def droppable(name: str) -> bool:
    """The pooling head (`head.*`) is not read by VLMs; towers built without it skip it."""
    return name.startswith("head.")


def _side(positions: int) -> int | None:
    side = math.isqrt(positions)
    return side if side * side == positions else None


def geometry(sd: StateDict) -> dict[str, int | None]:
    layers = [int(m.group(1)) for k in sd if (m := _LAYER.match(k))]
    width = next((int(v.shape[-1]) for k, v in sd.items() if k.endswith("layer_norm1.weight")), None)
    mlp = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("mlp.fc1.weight") and _LAYER.match(k)), None)
    patch, pos = sd.get(PATCH_KEY), sd.get(POS_KEY)
    return {
        "blocks": max(layers) + 1 if layers else None,
        "width": width,
        "mlp": mlp,
        "patch": int(patch.shape[-1]) if patch is not None and patch.dim() == 4 else None,
        "positions": int(pos.shape[0]) if pos is not None and pos.dim() == 2 else None,
    }


def prepare(ckpt: dict[str, torch.Tensor], tower: StateDict) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Drop the last block of a checkpoint exactly one block deeper than the tower."""
    c, t = geometry(ckpt)["blocks"], geometry(tower)["blocks"]
    return drop_extra_block(
        ckpt, c, t, f"the tower has {t} blocks: LLaVA-OneVision reads SigLIP-SO400M without its last block"
    )


def structure_problems(ckpt: StateDict, tower: StateDict, interpolate_pos: bool) -> list[str]:
    c, t = geometry(ckpt), geometry(tower)
    problems = shape_problems(c, t)
    if c["positions"] is not None and t["positions"] is not None and c["positions"] != t["positions"]:
        what = f"position grid: checkpoint has {c['positions']} positions, tower has {t['positions']}"
        if _side(c["positions"]) is None or _side(t["positions"]) is None:
            problems.append(what + " (not a square grid, cannot be resized)")
        elif not interpolate_pos:
            problems.append(what + " (pass interpolate_pos=True to resize it bicubically)")
    return problems


def align_positions(ckpt: dict[str, torch.Tensor], tower: StateDict) -> tuple[dict[str, torch.Tensor], str | None]:
    """Resize the (CLS-free) position grid bicubically to the tower's."""
    src, dst = ckpt.get(POS_KEY), tower.get(POS_KEY)
    if src is None or dst is None or src.shape == dst.shape or src.shape[-1] != dst.shape[-1]:
        return ckpt, None
    a, b = _side(src.shape[0]), _side(dst.shape[0])
    if a is None or b is None:
        return ckpt, None
    grid = src.float().reshape(1, a, a, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(b, b), mode="bicubic", align_corners=False, antialias=False)
    out = dict(ckpt)
    out[POS_KEY] = grid.permute(0, 2, 3, 1).reshape(b * b, -1)
    return out, f"position grid {a}x{a} -> {b}x{b} (bicubic, align_corners=False, no antialias; no CLS)"


SIGLIP_VIT = TowerKind(
    family="siglip_vit",
    title="SigLIP ViT",
    used_by="LLaVA-OneVision",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=align_positions,
    block_of=block_of,
    droppable=droppable,
    prepare=prepare,
)

"""The transformers `CLIPVisionModel` tower (LLaVA's): geometry checks and position resizing."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from harness.errors import InvalidInput

from .kinds import TowerKind

StateDict = Mapping[str, torch.Tensor]
POS_KEY = "embeddings.position_embedding.weight"
PATCH_KEY = "embeddings.patch_embedding.weight"
_LAYER = re.compile(r"^encoder\.layers\.(\d+)\.")
# Width can be read off any of these (first present wins), so partial checkpoints still get checked.
_WIDTH_KEYS = ("embeddings.class_embedding", "pre_layrnorm.weight", "post_layernorm.weight")


def matches(tower: StateDict) -> bool:
    """A CLIP ViT has separate q/k/v projections (an EVA/BLIP-2 tower has a fused qkv)."""
    return PATCH_KEY in tower and any(k.endswith("self_attn.q_proj.weight") for k in tower)


def block_of(name: str) -> str:
    """'embeddings', 'pre_layrnorm', 'layer.N', 'post_layernorm' (or the first name part)."""
    m = _LAYER.match(name)
    return f"layer.{m.group(1)}" if m else name.split(".", 1)[0]


def droppable(name: str) -> bool:
    """post_layernorm is only used after the last block; towers built without it may skip it."""
    return name.startswith("post_layernorm.")


def grid_of(positions: int) -> int | None:
    """Side of the square patch grid for `positions` = 1 (CLS) + side**2, else None."""
    side = math.isqrt(max(positions - 1, 0))
    return side if positions > 1 and side * side == positions - 1 else None


def geometry(sd: StateDict) -> dict[str, int | None]:
    """Structural facts readable from a (possibly partial) tower-named state dict."""
    layers = [int(m.group(1)) for k in sd if (m := _LAYER.match(k))]
    width = next((int(sd[k].shape[0]) for k in _WIDTH_KEYS if k in sd), None)
    if width is None:
        width = next(
            (int(v.shape[-1]) for k, v in sd.items() if k.endswith("layer_norm1.weight") and _LAYER.match(k)), None
        )
    mlp = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("mlp.fc1.weight")), None)
    patch = sd.get(PATCH_KEY)
    pos = sd.get(POS_KEY)
    return {
        "blocks": max(layers) + 1 if layers else None,
        "width": width,
        "mlp": mlp,
        "patch": int(patch.shape[-1]) if patch is not None and patch.dim() == 4 else None,
        "channels": int(patch.shape[1]) if patch is not None and patch.dim() == 4 else None,
        "positions": int(pos.shape[0]) if pos is not None and pos.dim() == 2 else None,
    }


def structure_problems(ckpt: StateDict, tower: StateDict, interpolate_pos: bool) -> list[str]:
    c, t = geometry(ckpt), geometry(tower)

    def differs(key: str) -> bool:
        return c[key] is not None and t[key] is not None and c[key] != t[key]

    problems = []
    if differs("blocks"):
        problems.append(f"depth: checkpoint has {c['blocks']} blocks, tower has {t['blocks']}")
    if differs("width"):
        problems.append(f"width: checkpoint hidden size is {c['width']}, tower's is {t['width']}")
    if differs("mlp"):
        problems.append(f"MLP width: checkpoint {c['mlp']}, tower {t['mlp']}")
    if differs("patch"):
        problems.append(
            f"patch size: checkpoint has {c['patch']}x{c['patch']} patches, tower has {t['patch']}x{t['patch']}"
        )
    if differs("channels"):
        problems.append(f"input channels: checkpoint {c['channels']}, tower {t['channels']}")
    if differs("positions"):
        cg, tg = grid_of(c["positions"]), grid_of(t["positions"])
        what = f"position grid: checkpoint has {_grid_text(c['positions'])}, tower has {_grid_text(t['positions'])}"
        if cg is None or tg is None:
            problems.append(what + " (not a square grid plus CLS, cannot be resized)")
        elif not interpolate_pos:
            problems.append(what + " (pass interpolate_pos=True to resize it bicubically)")
    return problems


def _grid_text(positions: int) -> str:
    g = grid_of(positions)
    return f"{g}x{g}+1 = {positions} positions" if g is not None else f"{positions} positions"


def resize_position_embedding(pos: torch.Tensor, side: int) -> torch.Tensor:
    """[1 + g*g, D] -> [1 + side*side, D] in float32; the CLS row is kept as it is.

    The g x g patch rows (row-major, as the patch conv output is flattened) are resized with
    `F.interpolate(mode="bicubic", align_corners=False, antialias=False)`.
    """
    g = grid_of(pos.shape[0])
    if g is None:
        raise InvalidInput(f"position embedding with {pos.shape[0]} rows is not CLS + a square grid")
    dim = pos.shape[1]
    cls, patches = pos[:1].float(), pos[1:].float()
    grid = patches.reshape(1, g, g, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(side, side), mode="bicubic", align_corners=False, antialias=False)
    return torch.cat([cls, grid.permute(0, 2, 3, 1).reshape(side * side, dim)], dim=0)


def align_positions(ckpt: dict[str, torch.Tensor], tower: StateDict) -> tuple[dict[str, torch.Tensor], str | None]:
    """Resize the checkpoint's position embedding to the tower's grid when they differ."""
    if POS_KEY not in ckpt or POS_KEY not in tower:
        return ckpt, None
    src, dst = ckpt[POS_KEY], tower[POS_KEY]
    if src.shape[0] == dst.shape[0]:
        return ckpt, None
    g_src, g_dst = grid_of(src.shape[0]), grid_of(dst.shape[0])
    if g_src is None or g_dst is None or src.shape[1] != dst.shape[1]:
        return ckpt, None  # left for the shape check to report
    out = dict(ckpt)
    out[POS_KEY] = resize_position_embedding(src, g_dst)
    return out, (
        f"position grid {g_src}x{g_src} -> {g_dst}x{g_dst} (bicubic, align_corners=False, "
        f"no antialias; CLS position unchanged)"
    )


CLIP_VIT = TowerKind(
    family="clip_vit",
    title="CLIP ViT",
    used_by="LLaVA",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=align_positions,
    block_of=block_of,
    droppable=droppable,
)

"""The EVA ViT-g tower (transformers `Blip2VisionModel`) of MiniGPT-v2, BLIP-2 and InstructBLIP.

Every EVA checkpoint is aligned as MiniGPT-v2's own loader does: a checkpoint one block deeper than the
tower loses its last block (they read the second-last EVA block: 39 of EVA-CLIP-g's 40), and a position
grid of another size is resized once, bicubically (224 px → 448 px for MiniGPT-v2; BLIP-2's 224 px tower
takes a 224 px EVA as is). `post_layernorm` plays ln_vision, which comes with the VLM checkpoint, not the
encoder: it is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from harness.errors import InvalidInput

from .geometry import drop_extra_block, shape_problems
from .kinds import TowerKind

StateDict = Mapping[str, torch.Tensor]
POS_KEY = "embeddings.position_embedding"
_LAYER = re.compile(r"^encoder\.layers\.(\d+)\.")


def matches(tower: StateDict) -> bool:
    return POS_KEY in tower and any(k.endswith("self_attn.qkv.weight") for k in tower)


def block_of(name: str) -> str:
    m = _LAYER.match(name)
    return f"layer.{m.group(1)}" if m else name.split(".", 1)[0]


def geometry(sd: StateDict) -> dict[str, int | None]:
    layers = [int(m.group(1)) for k in sd if (m := _LAYER.match(k))]
    cls = sd.get("embeddings.class_embedding")
    patch = sd.get("embeddings.patch_embedding.weight")
    mlp = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("mlp.fc1.weight")), None)
    return {
        "blocks": max(layers) + 1 if layers else None,
        "width": int(cls.shape[-1]) if cls is not None else None,
        "mlp": mlp,
        "patch": int(patch.shape[-1]) if patch is not None else None,
    }


def prepare(ckpt: dict[str, torch.Tensor], tower: StateDict) -> tuple[dict[str, torch.Tensor], list[str]]:
    c, t = geometry(ckpt), geometry(tower)
    out, notes = drop_extra_block(
        dict(ckpt), c["blocks"], t["blocks"], "MiniGPT-v2, BLIP-2 and InstructBLIP read the second-last EVA block"
    )
    pos, dst = out.get(POS_KEY), tower.get(POS_KEY)
    if pos is not None and dst is not None and pos.shape[1] != dst.shape[1] and pos.shape[-1] == dst.shape[-1]:
        grid = round((dst.shape[1] - 1) ** 0.5)
        old = round((pos.shape[1] - 1) ** 0.5)
        if old * old == pos.shape[1] - 1 and grid * grid == dst.shape[1] - 1:
            out[POS_KEY] = interpolate_pos_embed(pos, grid)
            notes.append(
                f"position grid {old}x{old} -> {grid}x{grid} (bicubic, align_corners=False, no "
                f"antialias, as LAVIS and MiniGPT-v2 load EVA weights)"
            )
    return out, notes


def structure_problems(ckpt: StateDict, tower: StateDict, interpolate_pos: bool) -> list[str]:
    return shape_problems(geometry(ckpt), geometry(tower))


EVA_VIT = TowerKind(
    family="eva_vit",
    title="EVA ViT-g",
    used_by="MiniGPT-v2 / BLIP-2 / InstructBLIP",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=lambda ckpt, tower: (ckpt, None),  # done in `prepare` for every EVA checkpoint
    block_of=block_of,
    prepare=prepare,
    kept=lambda name: name.startswith("post_layernorm."),
)


def interpolate_pos_embed(pos: torch.Tensor, grid: int) -> torch.Tensor:
    """LAVIS's bicubic resize of the patch grid (align_corners=False, no antialias: timm's antialiased resample
    differs). [1, 1+g*g, C] → [1, 1+grid*grid, C] in fp32 (whatever the file's dtype); the CLS row keeps its value."""
    n = pos.shape[1] - 1
    g = int(round(n**0.5))
    if g * g != n:
        raise InvalidInput(f"position embedding has {n} patch rows, not a square grid")
    if g == grid:
        return pos
    cls, patches = pos[:, :1], pos[:, 1:].float()
    patches = patches.reshape(1, g, g, -1).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, size=(grid, grid), mode="bicubic", align_corners=False)
    patches = patches.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)
    # fp32 even for an fp16 file, as the release keeps the resized table; the swap casts it to the tower's dtype
    return torch.cat([cls.float(), patches], dim=1)

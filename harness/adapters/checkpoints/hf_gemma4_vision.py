"""Gemma 4's vision encoder in transformers' own `Gemma4VisionModel` names: the checkpoint format (a tuned Gemma 4's
safetensors, whole or the tower alone, or a tower `harness tune --vlm gemma4` exported) and the tower kind.

Names: `patch_embedder.input_proj.weight` (patches of 3*16*16 pixels -> width), `patch_embedder.
position_embedding_table` [2, positions, width] (the x and y tables), `encoder.layers.N.self_attn.{q,k,v,o}_proj.
linear.weight` with per-head `q_norm`/`k_norm`, `encoder.layers.N.mlp.{gate,up,down}_proj.linear.weight`, the
clipped linears' `input_min/input_max/output_min/output_max` bounds. A whole model holds them under
`model.vision_tower.`; its projector (`embed_vision`), language model and audio tower are known to be unused.
Detection is by `patch_embedder.input_proj.weight`, which no other ViT format has. Torch-free until tensors load.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from harness.errors import InvalidInput

from .kinds import CheckpointFormat, TowerKind

if TYPE_CHECKING:
    import torch

PREFIXES = ("model.vision_tower.", "vision_tower.")
UNUSED_PREFIXES = (
    "model.language_model.",
    "model.embed_vision.",
    "model.audio_tower.",
    "model.embed_audio.",
    "language_model.",
    "embed_vision.",
    "audio_tower.",
    "embed_audio.",
    "lm_head.",
)
PATCH_KEY = "patch_embedder.input_proj.weight"
POS_KEY = "patch_embedder.position_embedding_table"
BOUNDS = ("input_min", "input_max", "output_min", "output_max")
_LAYER = re.compile(r"^encoder\.layers\.(\d+)\.")


def strip_prefix(key: str) -> str:
    return next((key[len(p) :] for p in PREFIXES if key.startswith(p)), key)


def detect(keys: Collection[str], torchscript: bool) -> bool:
    return any(strip_prefix(k) == PATCH_KEY for k in keys)


def is_unused(key: str) -> bool:
    return key.startswith(UNUSED_PREFIXES)


def to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model prefix dropped; names and tensors otherwise the tower's own."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        name = strip_prefix(key)
        if name in out:
            raise InvalidInput(f"two checkpoint tensors map to {name!r}")
        out[name] = value
    return out


FORMAT = CheckpointFormat(
    name="hf_gemma4_vision",
    description="Hugging Face Gemma 4 vision encoder (Gemma4VisionModel / Gemma4ForConditionalGeneration vision_tower)",
    family="gemma4_vit",
    family_title="a Gemma 4 ViT",
    detect=detect,
    convert=to_tower,
    unused=is_unused,
)


# -- the tower kind ------------------------------------------------------------------------------------------
def matches(tower: Mapping[str, torch.Tensor]) -> bool:
    return PATCH_KEY in tower


def block_of(name: str) -> str:
    m = _LAYER.match(name)
    return f"layer.{m.group(1)}" if m else name.split(".", 1)[0]


def geometry(sd: Mapping[str, torch.Tensor]) -> dict[str, int | None]:
    layers = [int(m.group(1)) for k in sd if (m := _LAYER.match(k))]
    patch, pos = sd.get(PATCH_KEY), sd.get(POS_KEY)
    mlp = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("mlp.gate_proj.linear.weight")), None)
    head = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("self_attn.q_norm.weight")), None)
    return {
        "blocks": max(layers) + 1 if layers else None,
        "width": int(patch.shape[0]) if patch is not None and patch.dim() == 2 else None,
        "mlp": mlp,
        "patch": math.isqrt(int(patch.shape[1]) // 3) if patch is not None and patch.dim() == 2 else None,
        "head_dim": head,
        "positions": int(pos.shape[1]) if pos is not None and pos.dim() == 3 else None,
    }


def structure_problems(ckpt: Mapping[str, torch.Tensor], tower: Mapping[str, torch.Tensor], _interp: bool) -> list[str]:
    c, t = geometry(ckpt), geometry(tower)
    from .geometry import shape_problems  # torch: the tower kind runs on loaded tensors; detection must not

    problems = shape_problems(c, t)
    for key, what in (("head_dim", "head size"), ("positions", "position table rows")):
        if c[key] is not None and t[key] is not None and c[key] != t[key]:
            problems.append(f"{what}: checkpoint {c[key]}, tower {t[key]}")
    return problems


def align_positions(ckpt: dict[str, torch.Tensor], tower: Mapping[str, torch.Tensor]):
    """Positions are (x, y) table lookups, not a grid: nothing to resize."""
    return ckpt, None


def prepare(
    ckpt: dict[str, torch.Tensor], tower: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Clipping bounds of +-inf (no clipping: transformers' initial values) equal on both sides are left as the tower
    has them, since the swap refuses infinite tensors; an infinite bound where the tower clips stays and is refused."""
    same = [
        k
        for k, v in ckpt.items()
        if kept(k)
        and k in tower
        and v.shape == tower[k].shape
        and not v.isfinite().all()
        and bool((v == tower[k]).all())
    ]
    if not same:
        return ckpt, []
    out = {k: v for k, v in ckpt.items() if k not in same}
    return out, [
        f"{len(same)} clipping bound(s) are +-inf (no clipping) in the checkpoint and the tower: left as they are"
    ]


def kept(name: str) -> bool:
    """The clipped linears' bounds: a checkpoint of a tower without clipping carries none."""
    return name.rsplit(".", 1)[-1] in BOUNDS


GEMMA4_VIT = TowerKind(
    family="gemma4_vit",
    title="Gemma 4 ViT",
    used_by="Gemma 4",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=align_positions,
    block_of=block_of,
    prepare=prepare,
    kept=kept,
)

"""Qwen3-VL's own ViT in Hugging Face safetensors: the format (`visual.*` of a whole Qwen3-VL as the hub lays it
out, `model.visual.*` as transformers 5 names it, or a bare tower) and the tower kind (`Qwen3VLVisionModel`: patch
embedding, learned position table, blocks with one fused qkv and a GELU MLP, the patch merger and the DeepStack
mergers, which project into the LLM).

Told apart by its `linear_fc1` MLP or merger names beside `blocks.N.attn.qkv` (Qwen2.5-VL's ViT has a gated MLP and
`merger.ln_q`, EVA's LAVIS layout `mlp.fc1`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from .hf_qwen_vit import is_unused, strip, to_tower
from .kinds import CheckpointFormat, TowerKind

if TYPE_CHECKING:  # the format registry is torch-free: `harness eval` checks an --encoder before torch loads
    import torch

_BLOCK = re.compile(r"^blocks\.(\d+)\.")
_DEEPSTACK = re.compile(r"^deepstack_merger_list\.(\d+)\.")
PATCH_KEY = "patch_embed.proj.weight"
POS_KEY = "pos_embed.weight"
MERGER_OUT = "merger.linear_fc2.weight"


def detect(keys: Collection[str], torchscript: bool) -> bool:
    names = {strip(k) for k in keys}
    qkv = any(_BLOCK.match(n) and n.endswith(".attn.qkv.weight") for n in names)
    markers = ("merger.linear_fc1.", "deepstack_merger_list.")
    return qkv and any(n.startswith(markers) or ".mlp.linear_fc1." in n for n in names)


FORMAT = CheckpointFormat(
    name="hf_qwen3_vit",
    description="Hugging Face Qwen3-VL vision tower (visual.* of Qwen3VLForConditionalGeneration, or the bare tower)",
    family="qwen3_vit",
    family_title="a Qwen3-VL ViT",
    detect=detect,
    convert=to_tower,
    unused=is_unused,
)


def matches(tower: Mapping[str, torch.Tensor]) -> bool:
    return PATCH_KEY in tower and POS_KEY in tower and "merger.linear_fc1.weight" in tower


def block_of(name: str) -> str:
    if m := _BLOCK.match(name):
        return f"block.{m.group(1)}"
    if m := _DEEPSTACK.match(name):
        return f"deepstack_merger.{m.group(1)}"
    return name.split(".", 1)[0]


def geometry(sd: Mapping[str, torch.Tensor]) -> dict[str, int | None]:
    blocks = [int(m.group(1)) for k in sd if (m := _BLOCK.match(k))]
    deepstack = {int(m.group(1)) for k in sd if (m := _DEEPSTACK.match(k))}
    width = next((int(v.shape[-1]) for k, v in sd.items() if k.endswith("norm1.weight")), None)
    fc1 = (v for k, v in sd.items() if _BLOCK.match(k) and k.endswith("mlp.linear_fc1.weight"))
    mlp = next((int(v.shape[0]) for v in fc1), None)
    patch, out, pos = sd.get(PATCH_KEY), sd.get(MERGER_OUT), sd.get(POS_KEY)
    conv = patch is not None and patch.dim() == 5  # [width, channels, temporal, patch, patch]
    return {
        "blocks": max(blocks) + 1 if blocks else None,
        "width": width,
        "mlp": mlp,
        "patch": int(patch.shape[-1]) if conv else None,
        "temporal": int(patch.shape[2]) if conv else None,
        "out": int(out.shape[0]) if out is not None and out.dim() == 2 else None,
        "positions": int(pos.shape[0]) if pos is not None and pos.dim() == 2 else None,
        "deepstack": len(deepstack) if deepstack else None,
    }


EXTRA_CHECKS = (
    ("temporal", "temporal patch: checkpoint {}, tower {}"),
    ("out", "merger output: checkpoint projects to width {}, the tower's LLM takes {} (another Qwen3-VL size)"),
    ("positions", "position table: checkpoint has {} positions, tower has {}"),
    ("deepstack", "DeepStack mergers: checkpoint has {}, tower has {}"),
)


def structure_problems(ckpt: Mapping[str, torch.Tensor], tower: Mapping[str, torch.Tensor], _: bool) -> list[str]:
    from .geometry import shape_problems  # torch: the tower kind runs on loaded tensors; detection must not

    c, t = geometry(ckpt), geometry(tower)
    problems = shape_problems(c, t)
    for key, what in EXTRA_CHECKS:
        if c[key] is not None and t[key] is not None and c[key] != t[key]:
            problems.append(what.format(c[key], t[key]))
    return problems


def align_positions(
    ckpt: dict[str, torch.Tensor], tower: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], str | None]:
    return ckpt, None  # the table is resampled per image by the model itself; a table of another size is refused


QWEN3_VIT = TowerKind(
    family="qwen3_vit",
    title="Qwen3-VL ViT",
    used_by="Qwen3-VL",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=align_positions,
    block_of=block_of,
)

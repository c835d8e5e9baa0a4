"""Qwen2.5-VL's own ViT in Hugging Face safetensors: the format (`visual.*` of a whole Qwen2.5-VL, as the hub
lays it out, `model.visual.*` as transformers 5 names it in memory, or a bare tower as `harness tune` exports it)
and the tower kind (`Qwen2_5_VisionTransformerPretrainedModel`: patch embedding, blocks with one fused qkv and a
gated SiLU MLP, the 2x2 patch merger that projects into the LLM).

Told apart from every other layout by its merger (`merger.ln_q`) or gated block MLP (`mlp.gate_proj`) beside
`blocks.N.attn.qkv`; EVA's LAVIS layout shares `blocks.N.attn.qkv` but has neither, so this format is tried first.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the format registry is torch-free: `harness eval` checks an --encoder before torch loads
    import torch

from .kinds import CheckpointFormat, TowerKind

PREFIXES = ("model.visual.", "visual.")
_BLOCK = re.compile(r"^blocks\.(\d+)\.")
PATCH_KEY = "patch_embed.proj.weight"
MERGER_OUT = "merger.mlp.2.weight"


def strip(key: str) -> str:
    for prefix in PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def detect(keys: Collection[str], torchscript: bool) -> bool:
    names = {strip(k) for k in keys}
    qkv = any(_BLOCK.match(n) and n.endswith(".attn.qkv.weight") for n in names)
    # the gated MLP of a ViT block only: a whole Qwen3-VL's LLM layers have `mlp.gate_proj` too
    return qkv and any(n.startswith("merger.ln_q.") or (_BLOCK.match(n) and ".mlp.gate_proj." in n) for n in names)


def is_unused(key: str) -> bool:
    """Whole-model files: everything outside the vision tower (the LLM, its embeddings and head)."""
    return not key.startswith(PREFIXES) and key.startswith(("model.", "lm_head."))


def to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the model prefix: the names are the tower's own; tensors unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        name = strip(key)
        if name in out:
            raise ValueError(f"two checkpoint tensors map to {name!r}")
        out[name] = value
    return out


FORMAT = CheckpointFormat(
    name="hf_qwen_vit",
    description="Hugging Face Qwen2.5-VL vision tower (visual.* of Qwen2_5_VLForConditionalGeneration, or the bare "
    "tower)",
    family="qwen_vit",
    family_title="a Qwen2.5-VL ViT",
    detect=detect,
    convert=to_tower,
    unused=is_unused,
)


def matches(tower: Mapping[str, torch.Tensor]) -> bool:
    return PATCH_KEY in tower and "merger.ln_q.weight" in tower and any(k.endswith("attn.qkv.weight") for k in tower)


def block_of(name: str) -> str:
    m = _BLOCK.match(name)
    return f"block.{m.group(1)}" if m else name.split(".", 1)[0]


def geometry(sd: Mapping[str, torch.Tensor]) -> dict[str, int | None]:
    blocks = [int(m.group(1)) for k in sd if (m := _BLOCK.match(k))]
    width = next((int(v.shape[-1]) for k, v in sd.items() if k.endswith("norm1.weight")), None)
    mlp = next((int(v.shape[0]) for k, v in sd.items() if k.endswith("mlp.gate_proj.weight")), None)
    patch, out = sd.get(PATCH_KEY), sd.get(MERGER_OUT)
    conv = patch is not None and patch.dim() == 5  # [width, channels, temporal, patch, patch]
    return {
        "blocks": max(blocks) + 1 if blocks else None,
        "width": width,
        "mlp": mlp,
        "patch": int(patch.shape[-1]) if conv else None,
        "temporal": int(patch.shape[2]) if conv else None,
        "out": int(out.shape[0]) if out is not None and out.dim() == 2 else None,
    }


def structure_problems(ckpt: Mapping[str, torch.Tensor], tower: Mapping[str, torch.Tensor], _: bool) -> list[str]:
    c, t = geometry(ckpt), geometry(tower)
    from .geometry import shape_problems  # torch: the tower kind runs on loaded tensors; detection must not

    problems = shape_problems(c, t)
    if c["temporal"] is not None and t["temporal"] is not None and c["temporal"] != t["temporal"]:
        problems.append(f"temporal patch: checkpoint {c['temporal']}, tower {t['temporal']}")
    if c["out"] is not None and t["out"] is not None and c["out"] != t["out"]:
        problems.append(
            f"merger output: checkpoint projects to width {c['out']}, the tower's LLM takes {t['out']} "
            "(a tower of another Qwen2.5-VL size)"
        )
    return problems


def align_positions(
    ckpt: dict[str, torch.Tensor], tower: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], str | None]:
    return ckpt, None  # 2-D rotary positions: no learned position table to resize


QWEN_VIT = TowerKind(
    family="qwen_vit",
    title="Qwen2.5-VL ViT",
    used_by="Qwen2.5-VL",
    matches=matches,
    structure_problems=structure_problems,
    align_positions=align_positions,
    block_of=block_of,
)

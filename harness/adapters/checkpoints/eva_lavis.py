"""EVA-CLIP-g checkpoints → the LAVIS `eva_vit_g` layout → transformers `Blip2VisionModel` names.

Two pure functions (reference: shared/reference/minigptv2.md §2, §3, §6):
- `eva_to_lavis`: open_clip timm trunks (`visual.trunk.`), original EVA-CLIP (`visual.`), MiniGPT
  (`visual_encoder.`) or bare LAVIS names → bare LAVIS names; split q/k/v projections are fused; the text
  tower, final norm, head and rotary tables are dropped.
- `lavis_to_blip2`: LAVIS names → `Blip2VisionModel` names; the qkv bias is cat(q_bias, 0, v_bias).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

PREFIXES = ("module.", "visual.trunk.", "visual_encoder.", "visual.")
DROP = re.compile(r"^(norm\.|fc_norm\.|head\.|rope\.|text\.|logit_scale|ln_vision\.|.*\.rope\.)")
_BLOCK = re.compile(r"^blocks\.(\d+)\.(.*)$")


def strip_prefix(key: str) -> str:
    for p in PREFIXES:
        if key.startswith(p):
            return key[len(p) :]
    return key


def eva_to_lavis(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch  # here, not at the top: format detection imports this module and must stay torch-free

    out: dict[str, torch.Tensor] = {}
    split: dict[str, dict[str, torch.Tensor]] = {}
    for key, t in sd.items():
        if key.startswith(("text.", "transformer.", "token_embedding", "logit_scale", "positional_embedding")):
            continue  # text tower of a full CLIP checkpoint
        k = strip_prefix(key)
        if DROP.match(k):
            continue
        m = re.match(r"^(blocks\.\d+\.attn\.)(q|k|v)_proj\.(weight|bias)$", k)
        if m:
            split.setdefault(m.group(1), {})[f"{m.group(2)}_{m.group(3)}"] = t
            continue
        out[k] = t
    for head, parts in split.items():
        out[head + "qkv.weight"] = torch.cat([parts["q_weight"], parts["k_weight"], parts["v_weight"]], 0)
        if "q_bias" in parts:
            out[head + "q_bias"] = parts["q_bias"]
        if "v_bias" in parts:
            out[head + "v_bias"] = parts["v_bias"]
    return out


def lavis_to_blip2(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    import torch  # as in eva_to_lavis

    """Unknown keys come back unchanged so validation names them."""
    out: dict[str, torch.Tensor] = {}
    names = {
        "norm1": "layer_norm1",
        "norm2": "layer_norm2",
        "attn.proj": "self_attn.projection",
        "attn.qkv.weight": "self_attn.qkv.weight",
        "mlp.fc1": "mlp.fc1",
        "mlp.fc2": "mlp.fc2",
    }
    for key, t in sd.items():
        if key == "cls_token":
            out["embeddings.class_embedding"] = t
        elif key == "pos_embed":
            out["embeddings.position_embedding"] = t
        elif key.startswith("patch_embed.proj."):
            out["embeddings.patch_embedding." + key.rsplit(".", 1)[1]] = t
        elif (m := _BLOCK.match(key)) is not None:
            i, rest = m.groups()
            if rest in ("attn.q_bias", "attn.v_bias"):
                continue  # folded into the fused bias below
            for src, dst in names.items():
                if rest == src or rest.startswith(src + "."):
                    out[f"encoder.layers.{i}.{dst}{rest[len(src) :]}"] = t
                    break
            else:
                out[key] = t
        else:
            out[key] = t
    for key in sd:
        m = re.match(r"^blocks\.(\d+)\.attn\.q_bias$", key)
        if m:
            q, v = sd[key], sd[f"blocks.{m.group(1)}.attn.v_bias"]
            out[f"encoder.layers.{m.group(1)}.self_attn.qkv.bias"] = torch.cat([q, torch.zeros_like(v), v])
    return out


def is_unused(key: str) -> bool:
    """Keys of an EVA checkpoint that no vision tower reads: the text tower, final norm, head, ln_vision."""
    if key.startswith(
        (
            "text.",
            "transformer.",
            "token_embedding",
            "logit_scale",
            "positional_embedding",
            "ln_final.",
            "text_projection",
        )
    ):
        return True
    return bool(DROP.match(strip_prefix(key)))


def eva_to_blip2(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Any EVA layout → `Blip2VisionModel` names (block dropping and position resizing are the tower's)."""
    return lavis_to_blip2(eva_to_lavis(sd))

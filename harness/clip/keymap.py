"""Vision-tower names: open_clip `model.visual` <-> transformers `CLIPVisionModelWithProjection`.

open_clip -> HF reuses `harness.adapters.checkpoints.openclip.map_vit_names` (the swap path's own mapping);
the reverse is here. The fused `in_proj` rows are q, k, v; open_clip's `proj` is [width, embed] and
HF's `visual_projection.weight` is its transpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from harness.adapters.checkpoints.openclip import BLOCK_NAMES, TOP_LEVEL_NAMES
from harness.errors import InvalidInput

HF_PREFIX = "vision_model."
_LAYER = re.compile(r"^encoder\.layers\.(\d+)\.(.+)$")
# the reverse of the swap path's tables, derived so the two directions cannot drift apart
_SIMPLE = {hf: oc for oc, hf in TOP_LEVEL_NAMES.items()}
_IN_LAYER = {hf: oc for oc, hf in BLOCK_NAMES.items()}


def open_clip_to_hf(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """open_clip visual state dict (no `visual.` prefix) -> CLIPVisionModelWithProjection state dict."""
    from harness.adapters.checkpoints.openclip import map_vit_names

    body = {k: v for k, v in sd.items() if k != "proj"}
    out = {HF_PREFIX + k: v.contiguous() for k, v in map_vit_names(body, "").items()}
    unknown = [k for k in out if not _known_hf(k[len(HF_PREFIX) :])]
    if unknown:
        raise InvalidInput(f"open_clip tensors with no CLIPVisionModel name: {unknown[:5]}")
    if "proj" in sd:
        out["visual_projection.weight"] = sd["proj"].t().contiguous()
    return out


def hf_to_open_clip(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CLIPVisionModel[WithProjection] state dict (with or without `vision_model.`) -> open_clip visual.

    q/k/v weights and biases are concatenated into `attn.in_proj_weight` / `attn.in_proj_bias`;
    `visual_projection.weight` becomes `proj` (transposed). `embeddings.position_ids` is dropped.
    """
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        name = key[len(HF_PREFIX) :] if key.startswith(HF_PREFIX) else key
        if name == "visual_projection.weight":
            out["proj"] = value.t().contiguous()
        elif name == "embeddings.position_ids":
            continue
        elif name in _SIMPLE:
            out[_SIMPLE[name]] = value
        elif (m := _LAYER.match(name)) is not None:
            layer, rest = m.groups()
            base = f"transformer.resblocks.{layer}."
            if rest in _IN_LAYER:
                out[base + _IN_LAYER[rest]] = value
            elif (q := re.match(r"^self_attn\.([qkv])_proj\.(weight|bias)$", rest)) is not None:
                qkv.setdefault((base, q.group(2)), {})[q.group(1)] = value
            else:
                raise InvalidInput(f"no open_clip name for HF tensor {key!r}")
        else:
            raise InvalidInput(f"no open_clip name for HF tensor {key!r}")
    for (base, kind), parts in qkv.items():
        if set(parts) != {"q", "k", "v"}:
            raise InvalidInput(f"{base}: q/k/v {kind} incomplete ({sorted(parts)})")
        out[f"{base}attn.in_proj_{kind}"] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
    return out


def _known_hf(name: str) -> bool:
    if name in _SIMPLE:
        return True
    m = _LAYER.match(name)
    return m is not None and (
        m.group(2) in _IN_LAYER or re.match(r"^self_attn\.[qkv]_proj\.(weight|bias)$", m.group(2)) is not None
    )


def hf_config_for_open_clip_vit(visual: nn.Module, embed_dim: int) -> object:
    """A `CLIPVisionConfig` with the geometry of an open_clip `VisionTransformer` (for the HF export)."""
    from open_clip.transformer import QuickGELU
    from transformers import CLIPVisionConfig

    block = visual.transformer.resblocks[0]
    image_size = visual.image_size
    patch = visual.conv1.kernel_size
    return CLIPVisionConfig(
        hidden_size=visual.conv1.out_channels,
        intermediate_size=block.mlp.c_fc.out_features,
        num_hidden_layers=len(visual.transformer.resblocks),
        num_attention_heads=block.attn.num_heads,
        image_size=image_size[0] if isinstance(image_size, (tuple, list)) else image_size,
        patch_size=patch[0] if isinstance(patch, (tuple, list)) else patch,
        num_channels=visual.conv1.in_channels,
        hidden_act="quick_gelu" if isinstance(block.mlp.gelu, QuickGELU) else "gelu",
        layer_norm_eps=visual.ln_pre.eps,
        projection_dim=embed_dim,
    )

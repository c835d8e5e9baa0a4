"""open_clip SigLIP (`visual.trunk.*`, a timm ViT) and bare timm SigLIP ViT state dicts -> SigLIP tower.

timm names: `patch_embed.proj`, `pos_embed` [1, N, D] (no CLS), `blocks.N.{norm1, attn.qkv, attn.proj, norm2,
mlp.fc1, mlp.fc2}`, final `norm`, and the MAP pooling head `attn_pool.*`. The fused qkv rows are q, k, v.
timm's `vit_so400m_patch14_siglip_384` computes exact GELU while transformers' SigLIP uses the tanh
approximation: the swap report says so (`NOTES`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from .kinds import CheckpointFormat

if TYPE_CHECKING:  # conversions take tensors; detection (torch-free) must not import torch
    import torch

PREFIXES = ("visual.trunk.", "trunk.")
_BLOCK = re.compile(r"^blocks\.(\d+)\.(.+)$")
BLOCK_NAMES = {
    "norm1": "layer_norm1",
    "norm2": "layer_norm2",
    "attn.proj": "self_attn.out_proj",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
}
POOL_NAMES = {
    "attn_pool.latent": "head.probe",
    "attn_pool.proj.weight": "head.attention.out_proj.weight",
    "attn_pool.proj.bias": "head.attention.out_proj.bias",
    "attn_pool.norm.weight": "head.layernorm.weight",
    "attn_pool.norm.bias": "head.layernorm.bias",
}
NOTES = (
    "activation: timm/open_clip SigLIP-SO400M/384 blocks use exact GELU, the transformers SigLIP tower the "
    "tanh approximation (gelu_pytorch_tanh); the loaded tower computes that approximation, as the VLM was "
    "trained with",
)


def _strip(key: str) -> str:
    for p in PREFIXES:
        if key.startswith(p):
            return key[len(p) :]
    return key


def timm_to_tower(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename timm SigLIP names to `SiglipVisionModel` names; unknown keys come back unchanged."""
    import torch  # here, not at the top: format detection imports this module and must stay torch-free

    out: dict[str, torch.Tensor] = {}
    for key, t in sd.items():
        k = _strip(key)
        if k == "pos_embed":
            out["embeddings.position_embedding.weight"] = t.reshape(t.shape[-2], t.shape[-1]) if t.dim() == 3 else t
        elif k.startswith("patch_embed.proj."):
            out["embeddings.patch_embedding." + k.rsplit(".", 1)[1]] = t
        elif k.startswith("norm."):
            out["post_layernorm." + k.split(".", 1)[1]] = t
        elif k in POOL_NAMES:
            out[POOL_NAMES[k]] = t
        elif k.startswith("attn_pool.mlp."):
            out["head.mlp." + k[len("attn_pool.mlp.") :]] = t
        elif k in ("attn_pool.q.weight", "attn_pool.q.bias"):
            part = k.rsplit(".", 1)[1]
            kv = sd[key.replace("attn_pool.q.", "attn_pool.kv.")]
            out[f"head.attention.in_proj_{part}"] = torch.cat([t, kv], 0)
        elif k in ("attn_pool.kv.weight", "attn_pool.kv.bias"):
            continue  # fused with q above
        elif (m := _BLOCK.match(k)) is not None:
            i, rest = m.groups()
            base = f"encoder.layers.{i}."
            if rest in ("attn.qkv.weight", "attn.qkv.bias"):
                if t.shape[0] % 3:
                    raise ValueError(f"{key}: fused qkv with {t.shape[0]} rows is not divisible by 3")
                for proj, part in zip(("q_proj", "k_proj", "v_proj"), t.chunk(3, 0)):
                    out[f"{base}self_attn.{proj}.{rest.rsplit('.', 1)[1]}"] = part
                continue
            for src, dst in BLOCK_NAMES.items():
                if rest.startswith(src + "."):
                    out[base + dst + rest[len(src) :]] = t
                    break
            else:
                out[key] = t
        else:
            out[key] = t
    return out


def detect(keys: Collection[str], torchscript: bool) -> bool:
    """A timm ViT trunk without CLS token and without EVA's q/v biases or rotary tables."""
    names = [_strip(k) for k in keys if k.startswith(PREFIXES) or not k.startswith("visual.")]
    if "patch_embed.proj.weight" not in names or not any(n.startswith("blocks.") for n in names):
        return False
    return not any(n == "cls_token" or n.endswith(("q_bias", "v_bias")) or "rope" in n for n in names)


def is_unused(key: str) -> bool:
    """open_clip's text tower, scales and projection head (`visual.head.*`)."""
    return key.startswith(("text.", "visual.head.")) or key in ("logit_scale", "logit_bias")


FORMAT = CheckpointFormat(
    name="open_clip_siglip",
    description="open_clip SigLIP (visual.trunk.* timm ViT) or bare timm SigLIP ViT names",
    family="siglip_vit",
    family_title="a SigLIP ViT",
    detect=detect,
    convert=timm_to_tower,
    unused=is_unused,
    notes=NOTES,
)

"""open_clip `CLIP` / `CustomTextCLIP` behind the `ClipModel` interface.

Two vision towers: open_clip's own `VisionTransformer` (OpenAI ViT names, fused `attn.in_proj_weight`
in an `nn.MultiheadAttention`) and the timm trunk route used by EVA01-g-14 (`visual.trunk`, a timm
`Eva` with a fused `attn.qkv` Linear plus separate `q_bias`/`v_bias`, projection in `trunk.head`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.clip.keymap import hf_config_for_open_clip_vit, open_clip_to_hf
from harness.clip.models import Block, ClipModel, Projection, separate_qkv
from harness.errors import InvalidInput


class OpenClip(ClipModel):
    family = "open_clip"

    @property
    def is_timm(self) -> bool:
        return hasattr(self.net.visual, "trunk")

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net.encode_image(pixels)

    def encode_text(self, tokens: Any) -> torch.Tensor:
        return self.net.encode_text(tokens.to(self.device))

    @property
    def visual(self) -> nn.Module:
        return self.net.visual

    def vision_modules(self) -> list[nn.Module]:
        return [self.net.visual]

    def blocks(self) -> list[Block]:
        if self.is_timm:
            return [self._timm_block(i, b) for i, b in enumerate(self.net.visual.trunk.blocks)]
        out = []
        for i, b in enumerate(self.net.visual.transformer.resblocks):
            att = b.attn
            if not isinstance(att, nn.MultiheadAttention) or not att._qkv_same_embed_dim:
                raise InvalidInput(f"vision block {i}: unsupported attention {type(att).__name__}")
            bias = [(att, "in_proj_bias")] if att.in_proj_bias is not None else []
            out.append(
                Block(
                    index=i,
                    qkv=[(att, "in_proj_weight")],
                    qkv_bias=bias,
                    heads=att.num_heads,
                    fc1=b.mlp.c_fc,
                    fc2=b.mlp.c_proj,
                    out_proj=att.out_proj,
                )
            )
        return out

    @staticmethod
    def _timm_block(i: int, b: nn.Module) -> Block:
        att = b.attn
        if getattr(att, "qkv", None) is not None:
            qkv = [(att.qkv, "weight")]
            bias = [(att, n) for n in ("q_bias", "v_bias") if getattr(att, n, None) is not None]
            if att.qkv.bias is not None:
                bias.append((att.qkv, "bias"))
        else:
            qkv, bias = separate_qkv(att)
        fc1 = getattr(b.mlp, "fc1", None)
        if not isinstance(fc1, nn.Linear):
            raise InvalidInput(
                f"vision block {i}: no fc1 Linear in {type(b.mlp).__name__} (SwiGLU towers are not supported)"
            )
        return Block(index=i, qkv=qkv, qkv_bias=bias, heads=att.num_heads, fc1=fc1, fc2=b.mlp.fc2, out_proj=att.proj)

    def projection(self) -> Projection:
        vis = self.net.visual
        if not self.is_timm:
            return Projection(vis, "proj", transposed=True)
        head = getattr(vis.head, "proj", None)
        if isinstance(head, nn.Linear):
            return Projection(head, "weight", transposed=False)
        if isinstance(vis.trunk.head, nn.Linear):
            return Projection(vis.trunk.head, "weight", transposed=False)
        raise InvalidInput("this timm vision tower has no linear image projection")

    def text_fc1(self) -> list[nn.Linear]:
        text = self.net.text if hasattr(self.net, "text") else self.net
        return [b.mlp.c_fc for b in text.transformer.resblocks]

    def release_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.net.visual.state_dict().items()}

    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        from harness.clip.tower_family import check_tower_keys  # another family's tower is refused by its names

        kind = "timm" if self.is_timm else "CLIP ViT"
        check_tower_keys(sd, self.net.visual.state_dict(), f"an open_clip {kind} tower")
        self.net.visual.load_state_dict(sd, strict=True)

    def hf_vision_model(self) -> nn.Module | None:
        if self.is_timm:
            return None  # EVA towers have no transformers CLIP counterpart
        from transformers import CLIPVisionModelWithProjection

        vis = self.net.visual
        model = CLIPVisionModelWithProjection(hf_config_for_open_clip_vit(vis, int(vis.proj.shape[1])))
        state = {k: v.to("cpu", torch.float32) for k, v in open_clip_to_hf(self.release_state_dict()).items()}
        model.load_state_dict(state, strict=True)
        return model

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "tower": "timm " + type(self.net.visual.trunk).__name__ if self.is_timm else "open_clip VisionTransformer",
        }

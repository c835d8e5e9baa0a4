"""transformers `CLIPModel` behind the `ClipModel` interface (separate q/k/v projections)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.clip.keymap import hf_to_open_clip, open_clip_to_hf
from harness.clip.models import Block, ClipModel, Projection, separate_qkv


class HFClip(ClipModel):
    family = "hf"

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        pooled = self.net.vision_model(pixel_values=pixels).pooler_output
        return self.net.visual_projection(pooled)

    def encode_text(self, tokens: Any) -> torch.Tensor:
        tokens = {k: v.to(self.device) for k, v in dict(tokens).items() if k in ("input_ids", "attention_mask")}
        pooled = self.net.text_model(**tokens).pooler_output
        return self.net.text_projection(pooled)

    @property
    def visual(self) -> nn.Module:
        return self.net.vision_model

    def vision_modules(self) -> list[nn.Module]:
        return [self.net.vision_model, self.net.visual_projection]

    def blocks(self) -> list[Block]:
        out = []
        for i, layer in enumerate(self.net.vision_model.encoder.layers):
            att = layer.self_attn
            qkv, bias = separate_qkv(att)
            out.append(
                Block(
                    index=i,
                    qkv=qkv,
                    qkv_bias=bias,
                    heads=att.num_heads,
                    fc1=layer.mlp.fc1,
                    fc2=layer.mlp.fc2,
                    out_proj=att.out_proj,
                )
            )
        return out

    def projection(self) -> Projection:
        return Projection(self.net.visual_projection, "weight", transposed=False)

    def text_fc1(self) -> list[nn.Linear]:
        return [layer.mlp.fc1 for layer in self.net.text_model.encoder.layers]

    def _hf_state(self) -> dict[str, torch.Tensor]:
        sd = {"vision_model." + k: v for k, v in self.net.vision_model.state_dict().items()}
        sd["visual_projection.weight"] = self.net.visual_projection.weight
        return sd

    def release_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in hf_to_open_clip(self._hf_state()).items()}

    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        hf = open_clip_to_hf(sd)
        proj = hf.pop("visual_projection.weight")
        tower = {k[len("vision_model.") :]: v for k, v in hf.items()}
        # position_ids is a non-persistent buffer in 5.x; strict loading sees only real weights
        self.net.vision_model.load_state_dict(tower, strict=True)
        with torch.no_grad():
            self.net.visual_projection.weight.copy_(proj)

    def hf_vision_model(self) -> nn.Module:
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

        cfg = CLIPVisionConfig(**self.net.config.vision_config.to_dict())
        cfg.projection_dim = self.net.config.projection_dim
        model = CLIPVisionModelWithProjection(cfg)
        state = {k: v.detach().to("cpu", torch.float32) for k, v in self._hf_state().items()}
        model.load_state_dict(state, strict=True)
        return model

"""transformers `SiglipModel` behind the `ClipModel` interface: tuned with SigLIP's sigmoid loss.

SigLIP has no separate image projection: the pooled embedding is the attention-pooling head's output, so the
head's last linear (`head.mlp.fc2`) plays the projection for LoRSU's and SPU's projection updates. Weights are
exported in HF names (`vision_model.*`, the `hf_siglip` checkpoint format) and as a `SiglipVisionModel`;
both swap into a SigLIP tower such as LLaVA-OneVision's.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.clip.hf_model import HFClip
from harness.clip.models import Projection


class HFSiglip(HFClip):
    family = "hf_siglip"

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.net.vision_model(pixel_values=pixels).pooler_output

    def encode_text(self, tokens) -> torch.Tensor:
        tokens = {k: v.to(self.device) for k, v in dict(tokens).items() if k == "input_ids"}
        return self.net.text_model(**tokens).pooler_output  # SigLIP's text head projects the last token

    def logit_bias(self) -> torch.Tensor:
        return self.net.logit_bias

    def vision_modules(self) -> list[nn.Module]:
        return [self.net.vision_model]

    def projection(self) -> Projection:
        if self.net.vision_model.head is None:
            raise ValueError("this SigLIP vision tower has no pooling head, hence no projection to update")
        return Projection(self.net.vision_model.head.mlp.fc2, "weight", transposed=False)

    def _hf_state(self) -> dict[str, torch.Tensor]:
        return {"vision_model." + k: v for k, v in self.net.vision_model.state_dict().items()}

    def release_state_dict(self) -> dict[str, torch.Tensor]:
        """HF `SiglipModel` names of the vision tower (no open_clip form is written for SigLIP)."""
        return {k: v.detach().clone() for k, v in self._hf_state().items()}

    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        self.net.vision_model.load_state_dict({k.removeprefix("vision_model."): v for k, v in sd.items()}, strict=True)

    def hf_vision_model(self) -> nn.Module:
        from transformers import SiglipVisionConfig, SiglipVisionModel

        model = SiglipVisionModel(SiglipVisionConfig(**self.net.config.vision_config.to_dict()))
        model.load_state_dict(
            {k: v.detach().to("cpu", torch.float32) for k, v in self.net.vision_model.state_dict().items()}, strict=True
        )
        return model

"""open_clip `CoCa` behind the `ClipModel` interface, tuned with its contrastive head.

CoCa's vision tower is open_clip's `VisionTransformer` with an attentional pooler (`attn_pool`, `ln_post`,
`proj` after it), so blocks, LoRA targets and the release layout are the open_clip CLIP's; the contrastive
features are `CoCa.encode_image` / `encode_text` (the pooled image latent and the text CLS latent), scaled by
`logit_scale` as in `CoCa.forward`. The captioning decoder (`text_decoder`) is not used. There is no transformers
CLIP form of the tower (attentional pooling), so no `vision_hf/` export. `family` stays "open_clip": everything
that reads it (LoRA targets, `--encoder` swaps through `load_release_state_dict`) treats the tower as open_clip's.
The export keeps CoCa's own `visual.` names (see `release_state_dict`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.adapters.checkpoints.coca import PREFIX, coca_to_tower, is_unused
from harness.clip.openclip_model import OpenClip
from harness.clip.tower_family import check_tower_keys


class CocaClip(OpenClip):
    variant = "coca"

    def release_state_dict(self) -> dict[str, torch.Tensor]:
        """The tower as a whole `CoCa.state_dict()` names it (`visual.*`): CoCa's own checkpoint layout, which
        `--encoder` swaps back in as it swaps a released CoCa checkpoint."""
        return {PREFIX + k: v.detach().clone() for k, v in self.net.visual.state_dict().items()}

    def load_release_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        """A CoCa tower (release layout, or a whole CoCa state dict); other families are refused by their keys."""
        tower = coca_to_tower({k: v for k, v in sd.items() if not is_unused(k)})
        check_tower_keys(tower, self.net.visual.state_dict(), "a CoCa ViT (open_clip attentional pooling)", "coca_vit")
        self.net.visual.load_state_dict(tower, strict=True)

    def hf_vision_model(self) -> nn.Module | None:
        return None  # transformers has no CLIP vision model with CoCa's attentional pooler

    def describe(self) -> dict[str, Any]:
        pool = self.net.visual.attn_pool
        return {
            **super().describe(),
            "tower": "open_clip CoCa VisionTransformer (attentional pooling)",
            "variant": self.variant,
            "attn_pool_queries": int(pool.query.shape[0]),
        }


def is_coca(net: nn.Module) -> bool:
    from open_clip import CoCa

    return isinstance(net, CoCa)

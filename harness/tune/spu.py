"""SPU (Sparse Parameter Update, as released): fc1 top-10% per matrix, fc1 biases and projection full.

Importance (rescored every session): the released label-free loss ||logits_per_image||^2 (mean over
images) with gradients that keep accumulating across batches, over > 25% of the batches; or CLIP's
contrastive loss (`spu_importance="contrastive"`, plain per-batch sums). Mask per fc1 weight matrix =
top `sparsity` of |importance|. AdamW (lr 7.5e-6, wd 0.2, betas 0.9/0.999, eps 1e-8). Decay is applied
only where the mask is 1 unless `spu_decay_outside_mask` (then masked-out entries decay as released).
No replay. The text tower's fc1 is edited too only with `spu_edit_text`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from harness.clip.models import TunableTower
from harness.errors import InvalidInput
from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.importance import spu_scores
from harness.tune.objective import Objective
from harness.tune.params import topk_mask


class SPU(TuneMethod):
    name = "spu"

    @property
    def trains_text(self) -> bool:
        return self.cfg.spu_edit_text

    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        cfg = self.cfg
        if loader is None:
            raise InvalidInput("SPU needs training data to score importance")
        self.total = vision_total(model)
        vision_fc1 = [b.fc1 for b in model.blocks()]
        fc1s: list[nn.Linear] = vision_fc1 + (model.text_fc1() if cfg.spu_edit_text else [])
        proj = model.projection()
        released = cfg.spu_importance == "released"
        params = {f"fc1.{i}": layer.weight for i, layer in enumerate(fc1s)}
        scores, used = spu_scores(
            model, loader, objective.spu_loss if released else objective.loss, params, cumulative=released
        )
        entries: list[tuple[nn.Parameter, torch.Tensor | None]] = []
        updated = 0
        for i, layer in enumerate(fc1s):
            mask = topk_mask(scores[f"fc1.{i}"].abs(), float(cfg.sparsity)).to(layer.weight.device, layer.weight.dtype)
            entries.append((layer.weight, mask))
            if layer.bias is not None:
                entries.append((layer.bias, None))
            if i < len(vision_fc1):
                updated += (layer.weight.numel() if cfg.spu_decay_outside_mask else int(mask.sum().item())) + (
                    layer.bias.numel() if layer.bias is not None else 0
                )
        if proj is not None:
            proj_w = getattr(proj.owner, proj.name)
            entries.append((proj_w, None))
            updated += proj_w.numel()
        model.freeze()
        self.trainables = enable(model, entries)
        for t in self.trainables:
            t.decay_all = cfg.spu_decay_outside_mask
        self.updated = updated
        self.info = {
            "importance_samples_used": used,
            "importance_loss": cfg.spu_importance,
            "text_fc1_edited": cfg.spu_edit_text,
        }

    def extra_state(self, model: TunableTower) -> dict[str, torch.Tensor]:
        if not self.cfg.spu_edit_text:
            return {}
        names = model.parameter_names()
        return {names[id(p)]: p.detach().cpu().clone() for layer in model.text_fc1() for p in layer.parameters()}

    def load_extra_state(self, model: TunableTower, state: dict[str, torch.Tensor]) -> None:
        params = dict(model.net.named_parameters())
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)

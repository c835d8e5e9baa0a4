"""LoRSU: sparse fc1 updates plus LoRA on the q/k/v rows of each layer's most important heads.

Per session, on the plain (merged) weights:
1. importance = averaged signed gradient of the CLIP loss over >= `importance_samples` samples (or one
   pass over a few-shot session), for every q/k/v weight and fc1 weight of the vision tower;
2. fc1 mask = the top `sparsity` fraction of |importance| within each layer's fc1 matrix;
3. per layer, the `top_k_heads` heads with the largest ||G_q,h||^2 + ||G_k,h||^2 + ||G_v,h||^2;
4. LoRA (rank r, alpha) on the q/k/v rows of those heads only (masked parametrization), plus the
   released extras: LoRA on the image projection, trainable q/k/v and fc1 biases;
5. Adam (no weight decay); after training the LoRA updates are merged into plain weights.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from harness.clip.models import Block, TunableTower
from harness.errors import InvalidInput
from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.importance import lorsu_scores
from harness.tune.objective import Objective
from harness.tune.params import attach_lora, merge_parametrizations, topk_mask


def head_scores(block: Block, qkv_score: torch.Tensor, squared: bool) -> torch.Tensor:
    """Per-head ||G_q,h||^2 + ||G_k,h||^2 + ||G_v,h||^2 from a [3D, D] score (already squared if `squared`)."""
    g = qkv_score.reshape(3, block.heads, block.head_dim, -1)
    return (g if squared else g.square()).sum(dim=(0, 2, 3))


def head_row_mask(block: Block, heads: torch.Tensor) -> torch.Tensor:
    """0/1 over the 3D q/k/v rows: the rows of the selected heads in q, k and v."""
    mask = torch.zeros(3, block.heads, block.head_dim)
    mask[:, heads] = 1.0
    return mask.reshape(-1)


class LoRSU(TuneMethod):
    name = "lorsu"

    def __init__(self, cfg):
        super().__init__(cfg)
        self._parametrized: list[tuple[nn.Module, str]] = []

    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        cfg = self.cfg
        blocks = model.blocks()
        if cfg.top_k_heads > blocks[0].heads:
            raise InvalidInput(f"--top-k-heads {cfg.top_k_heads} exceeds the {blocks[0].heads} heads per layer")
        self.total = vision_total(model)
        squared = cfg.lorsu_importance == "squared"
        params: dict[str, nn.Parameter] = {}
        for b in blocks:
            for j, t in enumerate(b.qkv_tensors()):
                params[f"{b.index}.qkv{j}"] = t
            params[f"{b.index}.fc1"] = b.fc1.weight
        if loader is None:
            raise InvalidInput("LoRSU needs training data to score importance")
        scores, used = lorsu_scores(model, loader, objective.loss, params, cfg.importance_samples, cfg.lorsu_importance)
        entries: list[tuple[nn.Parameter, torch.Tensor | None]] = []
        heads_per_layer: list[list[int]] = []
        updated = 0
        self._parametrized = []
        for b in blocks:
            w = b.fc1.weight
            fc1_score = scores[f"{b.index}.fc1"]
            mask = topk_mask(fc1_score if squared else fc1_score.abs(), float(cfg.sparsity))
            entries.append((w, mask.to(w.device, w.dtype)))
            updated += int(mask.sum().item())
            if cfg.lorsu_bias:
                biases = ([b.fc1.bias] if b.fc1.bias is not None else []) + [getattr(m, n) for m, n in b.qkv_bias]
                entries += [(p, None) for p in biases]
                updated += sum(p.numel() for p in biases)
            qkv_score = torch.cat([scores[f"{b.index}.qkv{j}"] for j in range(len(b.qkv))], dim=0)
            heads = torch.topk(head_scores(b, qkv_score, squared), cfg.top_k_heads).indices.sort().values
            heads_per_layer.append(heads.tolist())
            rows = head_row_mask(b, heads)
            lora = attach_lora(b.qkv, cfg.rank, float(cfg.alpha), rows)
            self._parametrized += b.qkv
            entries += [(lora.lora_A, lora.a_mask()), (lora.lora_B, None)]
            updated += int(rows.sum().item()) * b.width
        proj = model.projection() if cfg.lorsu_proj_lora else None
        if proj is not None:
            target = (proj.owner, proj.name)
            updated += getattr(*target).numel()
            lora = attach_lora([target], cfg.rank, float(cfg.alpha), transpose=not proj.transposed)
            self._parametrized.append(target)
            entries += [(lora.lora_A, None), (lora.lora_B, None)]
        model.freeze()
        self.trainables = enable(model, entries)
        self.updated = updated
        self.info = {"importance_samples_used": used, "heads": heads_per_layer, "fc1_density": float(cfg.sparsity)}

    def finish_session(self, model: TunableTower) -> TunableTower:
        merge_parametrizations(self._parametrized)
        self._parametrized = []
        model.freeze()
        return model

"""`TuneMethod`: what every encoder-update method provides to the session trainer.

Per session: `start_session` (score, mask, attach adapters; sets `trainables`), training steps with
`mask_gradients` / `before_step` around the optimiser, then `finish_session`, which returns a model
with plain merged weights for export. `report` counts trainable entries exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from harness.clip.models import TunableTower
from harness.errors import InvalidInput
from harness.tune.config import TuneConfig
from harness.tune.objective import Objective
from harness.tune.params import Trainable, count_trainable


@dataclass
class ParamReport:
    """`trainable`: entries the optimiser can change (masked entries only where the mask is 1).
    `updated`: entries of the plain (merged) vision weights the update can touch.
    `total`: all vision parameters (tower + projection) of the plain model."""

    trainable: int
    updated: int
    total: int
    groups: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trainable": self.trainable,
            "updated": self.updated,
            "total": self.total,
            "trainable_percent": round(100.0 * self.trainable / max(self.total, 1), 4),
            "groups": dict(self.groups),
        }


class TuneMethod(ABC):
    name: str = ""

    def __init__(self, cfg: TuneConfig):
        self.cfg = cfg
        self.trainables: list[Trainable] = []
        self.total = 0
        self.updated = 0
        self.info: dict[str, Any] = {}

    @property
    def trains_text(self) -> bool:
        """True when the method updates text-tower weights (text features then need gradients)."""
        return False

    @property
    def resumes_from_checkpoint(self) -> bool:
        """True when the merged session checkpoint is the full state to resume from."""
        return True

    @abstractmethod
    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        """Freeze everything, then make this method's parameters trainable (importance from `objective` on
        `loader`)."""

    def finish_session(self, model: TunableTower) -> TunableTower:
        """A model with plain weights holding the update (may be `model` itself, merged in place)."""
        return model

    def optimizer(self) -> torch.optim.Optimizer:
        """Adam without weight decay (LoRSU's CLIP trainer; the paper uses Adam for every method); with weight
        decay AdamW, whose decoupled decay `before_step` applies inside the masks only."""
        params = [t.param for t in self.trainables]
        if float(self.cfg.weight_decay or 0.0) == 0.0:
            return torch.optim.Adam(params, lr=float(self.cfg.lr), weight_decay=0.0)
        return torch.optim.AdamW(params, lr=float(self.cfg.lr), betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    def mask_gradients(self) -> None:
        for t in self.trainables:
            t.mask_grad()

    @torch.no_grad()
    def before_step(self, lr: float) -> None:
        """AdamW's decoupled weight decay, p <- p (1 - lr wd), where the mask is 1 (everywhere for `decay_all`):
        a masked-out entry never moves."""
        wd = float(self.cfg.weight_decay or 0.0)
        if wd == 0.0 or lr == 0.0:
            return
        for t in self.trainables:
            if t.mask is None or t.decay_all:
                t.param.mul_(1.0 - lr * wd)
            else:
                t.param.mul_(1.0 - lr * wd * t.mask)

    def extra_state(self, model: TunableTower) -> dict[str, torch.Tensor]:
        """Tensors besides the merged vision weights needed to resume after this session."""
        return {}

    def load_extra_state(self, model: TunableTower, state: dict[str, torch.Tensor]) -> None:
        if state:
            raise InvalidInput(f"{self.name}: unexpected resume state {sorted(state)[:3]}")

    def report(self) -> ParamReport:
        groups: dict[str, int] = {}
        for t in self.trainables:
            key = _group(t.name)
            groups[key] = groups.get(key, 0) + t.count
        return ParamReport(count_trainable(self.trainables), self.updated, self.total, groups)


def _group(name: str) -> str:
    """A coarse group name: the last parts of the parameter name, without indices and adapter names."""
    parts = [p for p in name.split(".") if not p.isdigit() and p not in ("default", "parametrizations")]
    return ".".join(parts[-3:])


def vision_total(model: TunableTower) -> int:
    return sum(p.numel() for _, p in model.vision_parameters())


def named(model: TunableTower, params: list[torch.nn.Parameter]) -> list[tuple[str, torch.nn.Parameter]]:
    names = model.parameter_names()
    return [(names.get(id(p), "?"), p) for p in params]


def enable(model: TunableTower, entries: list[tuple[torch.nn.Parameter, torch.Tensor | None]]) -> list[Trainable]:
    """Trainables for (parameter, mask) pairs, named as in `model.net`; sets requires_grad. Entries the model fixes
    by design (`fixed_masks`, e.g. EVA's zero k bias) are masked out whatever the method asks."""
    names = model.parameter_names()
    fixed = model.fixed_masks()
    out = []
    for p, mask in entries:
        if id(p) in fixed:
            keep = fixed[id(p)].to(p.device, p.dtype)
            mask = keep if mask is None else mask * keep
        p.requires_grad_(True)
        out.append(Trainable(names.get(id(p), "?"), p, mask))
    return out

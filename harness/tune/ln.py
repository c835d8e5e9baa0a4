"""LN baseline: only the LayerNorm weights and biases of the vision tower are trained (Adam)."""

from __future__ import annotations

from collections.abc import Iterable

from harness.clip.models import TunableTower
from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.objective import Objective


class LayerNormOnly(TuneMethod):
    name = "ln"

    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        self.total = vision_total(model)
        model.freeze()
        params = [p for norm in model.layer_norms() for p in norm.parameters()]
        self.trainables = enable(model, [(p, None) for p in params])
        self.updated = sum(p.numel() for p in params)
        self.info = {"layer_norms": len(model.layer_norms())}

"""F-FT baseline: every vision-tower parameter (projection included) is trained (Adam); text frozen."""

from __future__ import annotations

from collections.abc import Iterable

from harness.clip.models import TunableTower
from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.objective import Objective


class FullFineTune(TuneMethod):
    name = "fft"

    def start_session(self, model: TunableTower, objective: Objective, loader: Iterable | None) -> None:
        self.total = vision_total(model)
        model.freeze()
        params = [p for _, p in model.vision_parameters()]
        self.trainables = enable(model, [(p, None) for p in params])
        self.updated = self.total

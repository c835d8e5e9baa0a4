"""F-FT baseline: every vision-tower parameter (projection included) is trained (Adam); text frozen."""

from __future__ import annotations

from collections.abc import Iterable

from harness.clip.models import ClipModel
from harness.tune.base import TuneMethod, enable, vision_total
from harness.tune.loss import TextBank


class FullFineTune(TuneMethod):
    name = "fft"

    def start_session(self, model: ClipModel, bank: TextBank, loader: Iterable | None) -> None:
        self.total = vision_total(model)
        model.freeze()
        params = [p for _, p in model.vision_parameters()]
        self.trainables = enable(model, [(p, None) for p in params])
        self.updated = self.total

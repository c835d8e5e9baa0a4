"""What is tuned and how: a `TuneTarget` gives the session runner (`harness.tune.run`) its model, objective,
training batches, export and restore. `ClipTarget`: a CLIP with the contrastive loss; `VlmTarget`
(`harness.tune.vlm_target`): a VLM's vision tower through the VLM's answer loss."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from harness.clip.data import CaptionedImages
from harness.clip.loader import train_loader, train_transform
from harness.clip.models import ClipModel, TunableTower
from harness.tune.config import TuneConfig
from harness.tune.export import export_session, load_release
from harness.tune.loss import TextBank
from harness.tune.objective import ContrastiveObjective, Objective


class TuneTarget(ABC):
    model: TunableTower

    @abstractmethod
    def objective(self, method: Any, data: CaptionedImages) -> Objective:
        """The objective of a session (may be reused across sessions)."""

    @abstractmethod
    def loader(self, data: CaptionedImages, cfg: TuneConfig, seed: int) -> DataLoader:
        """Shuffled training batches of one session's samples."""

    @abstractmethod
    def export(
        self, model: TunableTower, session_dir: Path, session: int, epoch: int, method: Any = None
    ) -> dict[str, str | None]:
        """Write the session's merged tower (or `method`'s adapter); returns the files relative to `session_dir`
        (key "release" first)."""

    @abstractmethod
    def restore(self, path: Path) -> None:
        """Load an exported session's tower back into the model (resume)."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """`model` (the spec the run was asked for) and `model_info` for tune.json."""


class ClipTarget(TuneTarget):
    """A CLIP's vision tower with the contrastive loss; exports the LoRSU release layout (+ HF safetensors)."""

    def __init__(self, model: ClipModel):
        self.model = model
        self._bank: TextBank | None = None

    def objective(self, method: Any, data: CaptionedImages) -> Objective:
        if self._bank is None or method.trains_text:
            self._bank = TextBank(self.model, data, live=method.trains_text)
        return ContrastiveObjective(self._bank)

    def loader(self, data: CaptionedImages, cfg: TuneConfig, seed: int) -> DataLoader:
        m = self.model
        transform = train_transform(m.image_size, m.mean, m.std, cfg.augment)
        return train_loader(data, transform, cfg.batch_size, seed=seed, workers=cfg.workers)

    def export(
        self, model: TunableTower, session_dir: Path, session: int, epoch: int, method: Any = None
    ) -> dict[str, str | None]:
        return export_session(model, session_dir, session, epoch)

    def restore(self, path: Path) -> None:
        m = self.model
        m.load_release_state_dict({k: v.to(m.device) for k, v in load_release(path).items()})

    def describe(self) -> dict[str, Any]:
        return {"model": self.model.spec, "model_info": self.model.describe(), "objective": "contrastive"}

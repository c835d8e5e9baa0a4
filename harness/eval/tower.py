"""A copy of the vision tower's original weights in host memory, so several encoders can be evaluated on
one loaded VLM: before each swap the tower is put back bit-identically, so a cell never depends on the
encoders evaluated before it."""

from __future__ import annotations

import torch


class TowerSnapshot:
    def __init__(self, tower: torch.nn.Module):
        self.tower = tower
        self.state = {k: v.detach().to("cpu", copy=True) for k, v in tower.state_dict().items()}

    @torch.no_grad()
    def restore(self) -> None:
        for name, target in self.tower.state_dict().items():
            target.copy_(self.state[name])

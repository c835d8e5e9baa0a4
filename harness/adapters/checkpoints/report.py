"""`SwapReport`: what an encoder swap loaded, ignored and changed, for run records and logs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SwapReport:
    """Result of `swap_encoder`; `to_dict()` is JSON-serialisable.

    max_abs_change maps each tower block ("embeddings", "pre_layrnorm", "layer.0", ...,
    "post_layernorm") to the largest |new - old| over its tensors, computed in float32 after
    casting the checkpoint to the tower's dtype (0.0 for blocks left as they were).
    """

    format: str
    format_description: str
    checkpoint: str
    sha256: str
    files: dict[str, str]
    container: str
    tower: str
    tower_dtype: str
    tensors_replaced: int
    tensors_total: int
    tensors_changed: int
    left_unchanged: list[str]
    ignored: list[str]
    file_dtypes: dict[str, int]
    max_abs_change: dict[str, float]
    position_interpolation: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ignored_count(self) -> int:
        return len(self.ignored)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ignored_count"] = self.ignored_count
        out["summary"] = self.summary()
        return out

    def summary(self) -> str:
        dtypes = ", ".join(f"{n} {name}" for name, n in self.file_dtypes.items())
        text = (
            f"Loaded {self.format} checkpoint {self.checkpoint} (sha256 {self.sha256[:12]}, "
            f"{self.container}) into the {self.tower} tower: {self.tensors_replaced} of "
            f"{self.tensors_total} tensors replaced ({self.tensors_changed} actually changed), "
            f"the checkpoint holds {dtypes} tensors, loaded as {self.tower_dtype}."
        )
        if self.left_unchanged:
            text += (
                f" {len(self.left_unchanged)} tower tensor(s) were not in the checkpoint and "
                f"were left as they were ({_names(self.left_unchanged)})."
            )
        if self.ignored:
            text += f" {self.ignored_count} checkpoint key(s) ignored as unused ({_names(self.ignored)})."
        if self.position_interpolation:
            text += f" Position embedding resized: {self.position_interpolation}."
        if self.max_abs_change:
            block, value = max(self.max_abs_change.items(), key=lambda kv: kv[1])
            text += f" Largest absolute change: {value:.4g} in {block}."
        return text


def _names(names: list[str], show: int = 3) -> str:
    more = f", ... +{len(names) - show} more" if len(names) > show else ""
    return ", ".join(names[:show]) + more

"""`DatasetTask`: the common frame of the release-layout tasks (item cache, prompts, versions, describe)."""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from harness.tasks.base import Item, Prompt, Task
from harness.tasks.prompts import PromptSet
from harness.tasks.sources import DatasetFormatError


class DatasetTask(Task):
    """A task read from a dataset root in a detected layout.

    Subclasses set `name`, `prompts`, `metric_names` and `data_version` and implement `_build_items`.
    `version` combines the data version with the prompt version, so a prompt change changes the run
    fingerprint. Items are built once and cached; `load()` builds them (and raises layout errors) early.
    """

    data_version = "1"
    prompts: PromptSet
    metric_names: tuple[str, ...] = ("acc", "acc_norm")

    def __init__(self, root: Path, layout: str, split: str, seed: int = 0):
        self.root = Path(root)
        self.layout = layout
        self.split = split
        self.seed = seed
        self.dropped: dict[str, int] = {}
        self._cache: list[Item] | None = None

    @property
    def version(self) -> str:  # type: ignore[override]
        return f"{self.data_version}.p{self.prompts.version}"

    @abstractmethod
    def _build_items(self) -> list[Item]:
        """All items of the split in their final order; may fill `self.dropped`."""

    def load(self) -> Self:
        """Read the annotations now (so missing or malformed files fail at task construction)."""
        if self._cache is None:
            items = self._build_items()
            if not items:
                raise DatasetFormatError(
                    f"{self.name}: no items in split {self.split!r} under {self.root} (layout: {self.layout})"
                )
            counts = Counter(it.id for it in items)
            dup = sorted(i for i, n in counts.items() if n > 1)
            if dup:
                raise DatasetFormatError(f"{self.name}: duplicate item ids under {self.root}, e.g. {dup[:5]}")
            self._cache = items
        return self

    def items(self) -> Iterator[Item]:
        return iter(self.load()._cache or [])

    def prompt(self, item: Item, family: str, style: str = "options") -> Prompt:
        return self.prompts.prompt(item, family, style)

    def generate_prompt(self, item: Item, family: str) -> str:
        return self.prompts.render(item, family, "generate")

    def image_exists(self, item: Item) -> bool:
        return Path(item.image).is_file()

    def describe(self) -> dict[str, Any]:
        items = list(self.items())
        return {
            "name": self.name,
            "version": self.version,
            "prompt_version": self.prompts.version,
            "root": str(self.root),
            "layout": self.layout,
            "split": self.split,
            "items": len(items),
            "images_missing": sum(not self.image_exists(it) for it in items),
            "metrics": list(self.metric_names),
            "dropped": dict(self.dropped),
            "seed": self.seed,
        }

"""The toy world's questions as a task (shared by `toy_control` and `toy_target`).

Item i shows scene i of the split and asks a colour, shape, position or yes/no question (cycling), with
4 options (2 for yes/no). Images are rendered in memory from the item id; nothing is read from disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks import toy_scenes
from harness.tasks.base import Item, Task

SPLIT_SIZES = {"train": 4000, "test": 400}


class ToyWorldTask(Task):
    version = "1"

    def __init__(self, domain: str, split: str = "test", seed: int = 0, size: int | None = None):
        if split not in SPLIT_SIZES:
            raise InvalidInput(f"toy_{domain}: split must be one of {list(SPLIT_SIZES)}, got {split!r}")
        self.name = f"toy_{domain}"
        self.domain, self.split, self.seed = domain, split, seed
        self.size = size or SPLIT_SIZES[split]

    def items(self) -> Iterator[Item]:
        names = toy_scenes.class_names()
        for i in range(self.size):
            s = toy_scenes.scene(self.domain, self.split, i, self.seed)
            q, choices, answer = toy_scenes.question(s, toy_scenes.KINDS[i % len(toy_scenes.KINDS)], self.seed)
            yield Item(
                id=f"{self.domain}-{self.split}-{i:05d}",
                image=f"toy://{self.domain}/{self.split}/{i}",
                question=q,
                choices=choices,
                answer=answer,
                meta={
                    "kind": toy_scenes.KINDS[i % len(toy_scenes.KINDS)],
                    "caption": s.caption,
                    "class_index": names.index(s.caption),
                },
            )

    def load_image(self, item: Item) -> Image.Image:
        _, _, rest = item.image.partition("toy://")
        domain, split, index = rest.split("/")
        return toy_scenes.render(toy_scenes.scene(domain, split, int(index), self.seed), self.seed)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "split": self.split,
            "items": self.size,
            "layout": f"generated toy world ({toy_scenes.DOMAINS[self.domain]} shapes, {toy_scenes.IMAGE_SIZE} px)",
            "metrics": ["acc", "acc_norm"],
            "seed": self.seed,
        }

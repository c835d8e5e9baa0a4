"""The task protocol: a task reads one dataset in its release layout and turns it into items.

A task knows nothing about models. It yields `Item`s, formats the instruction for a VLM prompt family,
names the continuations to score, and turns per-item scored samples into metrics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.answers import LETTERS, extract_letter
from harness.tasks.metrics import Metric, multiple_choice_metrics

PROMPT_STYLES = ("options", "text")


@dataclass(frozen=True)
class Item:
    """One multiple-choice question about one image.

    `answer` is the index of the correct choice (-1 when the split has no labels).
    `meta` holds task-specific fields the metric needs (e.g. VizWiz's 10 answers, VSR's relation).
    """

    id: str
    image: str
    question: str
    choices: tuple[str, ...]
    answer: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prompt:
    """What the engine scores for one item: the user instruction and the continuations.

    `instruction` is the text the adapter wraps in its chat template after the image.
    `continuations` are scored after the assistant turn starts; the engine prepends the target
    delimiter (a single space), as lm-eval does.
    """

    instruction: str
    continuations: tuple[str, ...]


class Task(ABC):
    """Base class for tasks. Subclasses set `name` and `version` and implement `items`."""

    name: str = ""
    version: str = "1"

    @abstractmethod
    def items(self) -> Iterator[Item]:
        """Yield the split's items in a deterministic order with stable ids."""

    def describe(self) -> dict[str, Any]:
        """Layout, split and source facts for the run record and `harness tasks`."""
        return {"name": self.name, "version": self.version}

    def load_image(self, item: Item) -> Image.Image:
        """Open the item's image as RGB; raises `ImageError` naming the file on failure."""
        return open_rgb(Path(item.image))

    def where(self, item: Item) -> str:
        """Where the user finds the item, for error messages (a file and line where the task knows them)."""
        return f"{self.name} item {item.id!r}"

    def prompt(self, item: Item, family: str, style: str = "options") -> Prompt:
        """Default multiple-choice prompt: options listed with letters, letters scored."""
        return mc_prompt(item.question, item.choices, style)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        """Metrics from scored samples (see harness.eval.records for the sample schema)."""
        return multiple_choice_metrics(samples)

    def generate_prompt(self, item: Item, family: str) -> str:
        """Instruction for generative mode (greedy decoding); default: the options-style prompt."""
        return mc_prompt(item.question, item.choices, "options").instruction

    def extract_answer(self, item: Item, generation: str) -> int:
        """Choice index named by a generated answer (a letter or an option's text); -1 when none."""
        return extract_letter(generation, item.choices)

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Optional per-group metrics for the record, e.g. {"relation": {"left of": Metric}}; none by default."""
        return {}


class ImageError(InvalidInput):
    """An item's image is missing or unreadable; the run records the item as an error."""


def open_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except FileNotFoundError as e:
        raise ImageError(f"image not found: {path}") from e
    except Exception as e:  # PIL raises many types for corrupt files
        raise ImageError(f"cannot read image {path}: {type(e).__name__}: {e}") from e


def mc_prompt(question: str, choices: tuple[str, ...], style: str) -> Prompt:
    """`options`: list "A. choice" lines and score the letters; `text`: score the choice texts."""
    if style == "options":
        lines = [question] + [f"{LETTERS[i]}. {c}" for i, c in enumerate(choices)]
        lines.append("Answer with the option's letter from the given choices directly.")
        return Prompt("\n".join(lines), tuple(LETTERS[: len(choices)]))
    if style == "text":
        return Prompt(question, tuple(choices))
    raise InvalidInput(f"unknown prompt style {style!r}; expected one of {PROMPT_STYLES}")

"""`ChoiceTask`: image classification asked as five-option multiple choice (TSI, GTS, DA·E)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from harness.tasks.base import Item
from harness.tasks.choices import N_CHOICES, apply_choices, draw_choice_sets
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric
from harness.tasks.official_answers import Rule, by_pick, letter_exact, official_metrics
from harness.tasks.sources import hash_order


@dataclass(frozen=True)
class Record:
    """One labelled image before its choices are drawn."""

    id: str
    image: str
    label: str
    meta: dict[str, Any] = field(default_factory=dict)


class ChoiceTask(DatasetTask):
    """The true class name plus four distractors from the other classes (see `harness.tasks.choices`).

    Items come in sha256(id) order. `meta` records the label and the choices, so samples.jsonl holds the
    choice sets; `use_choices(FILE)` replaces them with those of an exported file or a samples.jsonl.
    Generative runs also report `official_rules` (LoRSU's exact letter match: `acc_official`).
    """

    question: str = ""
    n_choices = N_CHOICES
    metric_names = ("acc", "acc_norm", "acc_official")
    official_rules: ClassVar[Mapping[str, Rule]] = {"acc_official": by_pick(letter_exact)}

    def __init__(self, root: Path, layout: str, split: str, seed: int, labels: tuple[str, ...]):
        super().__init__(root, layout, split, seed)
        self.labels = labels
        self.choices_file: Path | None = None
        self.choices_missing = "error"

    @abstractmethod
    def _records(self) -> list[Record]:
        """The split's labelled images in any order."""

    def _build_items(self) -> list[Item]:
        records = {r.id: r for r in self._records()}
        sets = draw_choice_sets([(r.id, r.label) for r in records.values()], self.labels, self.seed, self.n_choices)
        items = []
        for item_id in hash_order(records):
            r = records[item_id]
            if not self._keep(r):
                continue
            choices, answer = sets[item_id]
            items.append(
                Item(
                    id=r.id,
                    image=r.image,
                    question=self.question,
                    choices=choices,
                    answer=answer,
                    meta={**r.meta, "label": r.label, "choices": list(choices)},
                )
            )
        if self.choices_file is not None:
            items = apply_choices(items, self.choices_file, task=self.name, missing=self.choices_missing)
        return items

    def _keep(self, record: Record) -> bool:
        """Whether the split holds `record`; a subset split (CounterAnimal's groups) filters here, after every
        record's choices were drawn, so an item's choices do not depend on the split."""
        return True

    def use_choices(self, path: Path, missing: str = "error") -> Self:
        """Take choice sets from `path` (`--choices FILE`); see `harness.tasks.choices.apply_choices` for `missing`."""
        self.choices_file, self.choices_missing = Path(path), missing
        self._cache = None
        return self.load()

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        return {**super().metrics(samples), **self.official_metrics(samples)}

    def official_metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        """The LoRSU code's scores of the stored generations (`official_rules`); {} for likelihood samples."""
        return official_metrics(samples, self.official_rules)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "classes": len(self.labels),
            "n_choices": self.n_choices,
            "choices_file": str(self.choices_file) if self.choices_file else None,
        }

"""Five-option choice sets: seeded distractors, balanced answer positions, export and re-import.

Distractors: for each item, `n-1` labels drawn without replacement from the other classes (in canonical
label order) with `random.Random(sha256("distractors", seed, item id))`, so an item's distractors depend
only on its id, its true label and the seed, not on file order, on which other items exist or on --limit.

Answer position: all items of the split are ordered by (true label's index, sha256("slot", seed, id));
the k-th item in that order puts its answer at slot `perm[k % n]`, `perm` being a permutation of the n
slots drawn from the seed. Every class, and the split as a whole, therefore has each of A–E as the
answer ⌊m/n⌋ or ⌈m/n⌉ times. Slots depend on the set of ids in the split (not on file order or
--limit); `export_choices` / `apply_choices` pin them exactly for repeated runs.

File format (JSONL, one line per item): {"task": str, "id": str, "choices": [str], "answer": int}.
`apply_choices` also reads a run's samples.jsonl, whose lines carry the choices in `meta.choices`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from harness.errors import InputNotFound, InvalidInput
from harness.tasks.base import Item
from harness.tasks.sources import read_jsonl, stable_hash

N_CHOICES = 5
ChoiceSet = tuple[tuple[str, ...], int]


class ChoicesFileError(InvalidInput):
    """A choices file does not match the dataset (unknown ids, missing ids, other labels)."""


def draw_choice_sets(
    entries: Sequence[tuple[str, str]], labels: Sequence[str], seed: int, n: int = N_CHOICES
) -> dict[str, ChoiceSet]:
    """{item id: (choices, answer index)} for (id, true label) entries; see the module docstring."""
    index = {lab: i for i, lab in enumerate(labels)}
    if len(index) != len(labels):
        raise InvalidInput("class labels must be distinct")
    if not 2 <= n <= len(labels):
        raise InvalidInput(f"cannot draw {n} choices from {len(labels)} classes")
    ids = [i for i, _ in entries]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise InvalidInput(f"duplicate item ids: {dup}")
    for item_id, lab in entries:
        if lab not in index:
            raise InvalidInput(f"item {item_id}: label {lab!r} is not one of the task's classes")
    perm = random.Random(stable_hash("slot-perm", seed)).sample(range(n), n)
    order = sorted(entries, key=lambda e: (index[e[1]], stable_hash("slot", seed, e[0]), e[0]))
    slots = {item_id: perm[k % n] for k, (item_id, _) in enumerate(order)}
    out = {}
    for item_id, lab in entries:
        others = [x for x in labels if x != lab]
        picked = random.Random(stable_hash("distractors", seed, item_id)).sample(others, n - 1)
        s = slots[item_id]
        out[item_id] = (tuple(picked[:s] + [lab] + picked[s:]), s)
    return out


def export_choices(items: Iterable[Item], path: Path, task: str | None = None) -> int:
    """Write each item's choices and answer as JSONL; returns the number of lines written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for it in items:
            row = {"task": task, "id": it.id, "choices": list(it.choices), "answer": it.answer}
            f.write(
                json.dumps(row if task else {k: v for k, v in row.items() if k != "task"}, ensure_ascii=False) + "\n"
            )
            n += 1
    tmp.replace(path)
    return n


def load_choices(path: Path, task: str | None = None) -> dict[str, ChoiceSet]:
    """{id: (choices, answer)} from an exported file or a samples.jsonl; lines of other tasks are skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(
            f"choices file not found: {path} (expected JSONL lines "
            '{"task", "id", "choices": [str], "answer": int}, or a run\'s samples.jsonl)'
        )
    out: dict[str, ChoiceSet] = {}
    for n, row in read_jsonl(path, ChoicesFileError):
        # a run's samples name the task as "name" or "name:split"
        if task is not None and row.get("task") is not None and str(row["task"]).partition(":")[0] != task:
            continue
        choices = row.get("choices", (row.get("meta") or {}).get("choices"))
        item_id, answer = row.get("id"), row.get("answer")
        if (
            not isinstance(item_id, str)
            or not isinstance(choices, list)
            or len(choices) < 2
            or not all(isinstance(c, str) for c in choices)
        ):
            raise ChoicesFileError(f"{path}:{n}: expected 'id' (str) and 'choices' (at least two strings)")
        if not isinstance(answer, int) or isinstance(answer, bool) or not -1 <= answer < len(choices):
            raise ChoicesFileError(f"{path}:{n}: 'answer' must be an index into 'choices', got {answer!r}")
        if item_id in out and out[item_id] != (tuple(choices), answer):
            raise ChoicesFileError(f"{path}:{n}: id {item_id!r} appears twice with different choices")
        out[item_id] = (tuple(choices), answer)
    return out


def apply_choices(items: Iterable[Item], path: Path, task: str | None = None, missing: str = "error") -> list[Item]:
    """Items with their choices and answer replaced by those in `path`.

    Ids in the file that the dataset lacks are an error. Items without a line in the file are an error
    (`missing="error"`), keep their drawn choices (`"keep"`) or are left out (`"drop"`). A line whose
    correct choice differs from the item's label is an error (the file is from another dataset version).
    """
    if missing not in ("error", "keep", "drop"):
        raise ValueError(f"missing must be 'error', 'keep' or 'drop', got {missing!r}")
    table = load_choices(path, task)
    items = list(items)
    known = {it.id for it in items}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ChoicesFileError(
            f"{path}: {len(unknown)} ids are not in the dataset"
            f"{f' for task {task}' if task else ''}, e.g. {unknown[:5]}"
        )
    absent = [it.id for it in items if it.id not in table]
    if absent and missing == "error":
        raise ChoicesFileError(
            f"{path}: {len(absent)} items of the dataset have no choice set, e.g. "
            f"{absent[:5]}; use a complete file, or missing='keep'/'drop'"
        )
    out = []
    for it in items:
        if it.id not in table:
            if missing == "keep":
                out.append(it)
            continue
        choices, answer = table[it.id]
        truth = it.choices[it.answer] if it.answer >= 0 else None
        if truth is not None and (answer < 0 or choices[answer] != truth):
            got = choices[answer] if answer >= 0 else None
            raise ChoicesFileError(
                f"{path}: item {it.id!r} has correct choice {got!r} in the file but {truth!r} in the dataset"
            )
        meta = {**it.meta, "choices": list(choices)} if "choices" in it.meta else it.meta
        out.append(replace(it, choices=choices, answer=answer, meta=meta))
    return out

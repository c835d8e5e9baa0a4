"""Seeded distractors, balanced answer slots, and choice-set export / re-import."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace

import pytest

from harness.tasks.base import Item
from harness.tasks.captions import ACTION_CAPTIONS
from harness.tasks.choices import ChoicesFileError, apply_choices, draw_choice_sets, export_choices, load_choices
from harness.tasks.dalle import Dalle
from tests.harness.tasks.fixtures import build_dalle_per_class

LABELS = ACTION_CAPTIONS


def _entries(n_per_class: int = 7) -> list[tuple[str, str]]:
    return [(f"{lab.replace(' ', '-')}_{k}", lab) for lab in LABELS for k in range(n_per_class)]


def test_each_set_has_the_truth_and_four_distinct_other_classes():
    sets = draw_choice_sets(_entries(), LABELS, seed=0)
    for item_id, lab in _entries():
        choices, answer = sets[item_id]
        assert len(choices) == 5 and len(set(choices)) == 5
        assert choices[answer] == lab
        assert all(c in LABELS for c in choices)


def test_answer_slots_are_balanced_per_class_and_overall():
    entries = _entries(7)
    sets = draw_choice_sets(entries, LABELS, seed=3)
    overall = Counter(a for _, a in sets.values())
    assert set(overall) == set(range(5))
    assert max(overall.values()) - min(overall.values()) <= 1
    for lab in LABELS:
        per = Counter(sets[i][1] for i, label in entries if label == lab)
        assert max(per.values()) - min(per.values()) <= 1 and len(per) == 5


def test_independent_of_entry_order_and_dependent_on_seed():
    entries = _entries()
    shuffled = entries[:]
    random.Random(1).shuffle(shuffled)
    assert draw_choice_sets(entries, LABELS, 0) == draw_choice_sets(shuffled, LABELS, 0)
    assert draw_choice_sets(entries, LABELS, 0) != draw_choice_sets(entries, LABELS, 1)


def test_distractor_set_of_an_item_does_not_depend_on_the_other_items():
    full = draw_choice_sets(_entries(), LABELS, 0)
    subset = draw_choice_sets(_entries()[::3], LABELS, 0)
    for item_id, (choices, _) in subset.items():
        assert set(choices) == set(full[item_id][0])


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="duplicate"):
        draw_choice_sets([("a", LABELS[0]), ("a", LABELS[1])], LABELS, 0)
    with pytest.raises(ValueError, match="not one of"):
        draw_choice_sets([("a", "juggling")], LABELS, 0)
    with pytest.raises(ValueError, match="cannot draw"):
        draw_choice_sets([("a", "x")], ("x", "y"), 0)


def _items() -> list[Item]:
    sets = draw_choice_sets(_entries(2), LABELS, 0)
    return [
        Item(
            id=i,
            image=f"{i}.png",
            question="q",
            choices=sets[i][0],
            answer=sets[i][1],
            meta={"label": lab, "choices": list(sets[i][0])},
        )
        for i, lab in _entries(2)
    ]


def test_export_then_apply_round_trips(tmp_path):
    items = _items()
    path = tmp_path / "choices.jsonl"
    assert export_choices(items, path, task="dalle") == len(items)
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"task", "id", "choices", "answer"}
    # the same items with other choice sets get the exported ones back
    other = draw_choice_sets(_entries(2), LABELS, 9)
    redrawn = [replace(it, choices=other[it.id][0], answer=other[it.id][1]) for it in items]
    assert apply_choices(redrawn, path, task="dalle") == items


def test_apply_reports_unknown_and_missing_ids(tmp_path):
    items = _items()
    path = tmp_path / "c.jsonl"
    export_choices(items + [Item("ghost", "g.png", "q", ("a", "b"), 0)], path)
    with pytest.raises(ChoicesFileError, match="1 ids are not in the dataset.*ghost"):
        apply_choices(items, path)
    export_choices(items[:3], path)
    with pytest.raises(ChoicesFileError, match=f"{len(items) - 3} items of the dataset have no choice set"):
        apply_choices(items, path)
    assert [it.id for it in apply_choices(items, path, missing="drop")] == [it.id for it in items[:3]]
    assert apply_choices(items, path, missing="keep") == items


def test_apply_rejects_a_file_whose_correct_choice_differs(tmp_path):
    items = _items()
    path = tmp_path / "c.jsonl"
    bad = [replace(items[0], answer=(items[0].answer + 1) % 5)] + items[1:]
    export_choices(bad, path)
    with pytest.raises(ChoicesFileError, match="correct choice"):
        apply_choices(items, path)


def test_samples_jsonl_is_accepted_and_other_tasks_skipped(tmp_path):
    items = _items()
    path = tmp_path / "samples.jsonl"
    lines = [
        {"task": "dalle", "id": it.id, "continuations": [" A"] * 5, "answer": it.answer, "meta": it.meta, "error": None}
        for it in items
    ]
    lines.append({"task": "gts", "id": "00000", "answer": 0, "meta": {"choices": ["x", "y"]}})
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert set(load_choices(path, task="dalle")) == {it.id for it in items}
    assert apply_choices(items, path, task="dalle") == items


def test_malformed_choices_files(tmp_path):
    path = tmp_path / "c.jsonl"
    with pytest.raises(FileNotFoundError, match="choices file not found"):
        load_choices(path)
    path.write_text('{"id": "a", "choices": ["x", "y"], "answer": 2}\n')
    with pytest.raises(ChoicesFileError, match="answer"):
        load_choices(path)
    path.write_text("not json\n")
    with pytest.raises(ChoicesFileError, match="not valid JSON"):
        load_choices(path)


def test_task_use_choices_pins_a_published_run(tmp_path):
    root = build_dalle_per_class(tmp_path / "dalle")
    published = list(Dalle(root, seed=0).items())
    export_choices(published, tmp_path / "published.jsonl", task="dalle")
    task = Dalle(root, seed=5)
    assert [it.choices for it in task.items()] != [it.choices for it in published]
    task.use_choices(tmp_path / "published.jsonl")
    assert list(task.items()) == published
    assert task.describe()["choices_file"].endswith("published.jsonl")

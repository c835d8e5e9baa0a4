"""The generic mcq_jsonl task: schema validation with errors naming file, line and key."""

from __future__ import annotations

import json

import pytest

from harness.tasks.mcq_jsonl import McqJsonlError
from harness.tasks.registry import build_task


def write(tmp_path, rows):
    p = tmp_path / "set.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


GOOD = {"id": "a", "image": "img/a.png", "question": "Q?", "choices": ["x", "y"], "answer": 1}


def test_reads_items_with_paths_relative_to_the_file(tmp_path):
    p = write(tmp_path, [GOOD, {**GOOD, "id": "b", "extra": 5}, ""])
    items = list(build_task(f"mcq_jsonl={p}").items())
    assert [i.id for i in items] == ["a", "b"]
    assert items[0].image == str(tmp_path / "img/a.png") and items[0].choices == ("x", "y")


@pytest.mark.parametrize(
    "row, msg",
    [
        ({k: v for k, v in GOOD.items() if k != "answer"}, "missing key 'answer'"),
        ({**GOOD, "answer": 2}, "out of range"),
        ({**GOOD, "answer": True}, "'answer' must be int"),
        ({**GOOD, "choices": ["only"]}, "at least two"),
        ({**GOOD, "id": 7}, "'id' must be str"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_rows_name_file_line_and_key(tmp_path, row, msg):
    p = write(tmp_path, [GOOD | {"id": "z"}, row])
    with pytest.raises(McqJsonlError, match=msg) as e:
        list(build_task(f"mcq_jsonl={p}").items())
    assert f"{p}:2" in str(e.value)


def test_duplicate_ids_and_missing_file(tmp_path):
    p = write(tmp_path, [GOOD, GOOD])
    with pytest.raises(McqJsonlError, match="duplicate id 'a'"):
        list(build_task(f"mcq_jsonl={p}").items())
    with pytest.raises(FileNotFoundError, match="expected a JSONL file"):
        build_task(f"mcq_jsonl={tmp_path / 'nope.jsonl'}")
    with pytest.raises(KeyError, match="unknown task 'nope'"):
        build_task("nope")

"""The toy world for examples/paper_cl5: every task's fixture under one data root, and the test's readers and
writers (TOML out, Markdown tables in)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.harness.tasks.fixtures import build_all_fixtures
from tests.harness.tasks.fixtures_aircraft import build_aircraft
from tests.harness.tasks.fixtures_counteranimal import build_counteranimal
from tests.harness.tasks.fixtures_eurosat import build_eurosat
from tests.harness.tasks.fixtures_mmvp import build_mmvp
from tests.harness.tasks.fixtures_visonlyqa import build_visonlyqa


def build_paper_data(root: Path) -> Path:
    """The ten datasets under `root` in their default folder names. GTSRB gets training classes 9 and 12 (copies of
    classes 1 and 0), so that with two sessions (the released class order's halves: 9 in the first, 12 in the
    second) each session has test items among the four a limit of 4 takes, and the matrix a column per session.
    Hateful Memes' rows are interleaved by label, so that the first few items hold both classes and its AUROC (the
    primary metric) is defined under a limit."""
    build_all_fixtures(root)
    _copy_train_class(root / "gtsrb" / "GTSRB" / "Final_Training" / "Images", "00001", 9)
    _copy_train_class(root / "gtsrb" / "GTSRB" / "Final_Training" / "Images", "00000", 12)
    build_aircraft(root)
    build_eurosat(root / "eurosat")
    build_counteranimal(root / "counteranimal")
    build_mmvp(root / "mmvp")
    build_visonlyqa(root / "visonlyqa")
    hm = root / "hateful_memes" / "test_unseen.jsonl"
    rows = hm.read_text().splitlines()
    ones, zeros = [r for r in rows if '"label": 1' in r], [r for r in rows if '"label": 0' in r]
    assert len(ones) + len(zeros) == len(rows) and ones and zeros
    hm.write_text("\n".join(r for pair in zip(ones, zeros) for r in pair) + "\n")
    return root


def _copy_train_class(images: Path, source: str, cid: int) -> None:
    """Class `source`'s training folder again as class `cid` (GT-000XX.csv with ClassId rewritten, CRLF kept)."""
    target = images / f"{cid:05d}"
    shutil.copytree(images / source, target)
    gt = target / f"GT-{source}.csv"
    head, *rows = [r for r in gt.read_bytes().decode().split("\r\n") if r]
    gt.unlink()
    rows = [";".join([*r.split(";")[:-1], str(cid)]) for r in rows]
    (target / f"GT-{cid:05d}.csv").write_bytes(("\r\n".join([head, *rows]) + "\r\n").encode())


def toml_text(doc: dict[str, Any]) -> str:
    """A sweep file's TOML: top-level values, then tables, then arrays of tables (strings, numbers, booleans and
    lists of strings)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(v)

    def body(table: dict[str, Any]) -> list[str]:
        return [f"{k} = {value(v)}" for k, v in table.items()]

    lines = body({k: v for k, v in doc.items() if not isinstance(v, dict | list)})
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += [f"[{k}]", *body(v)]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                lines += [f"[[{k}]]", *body(x)]
    return "\n".join(lines) + "\n"


def markdown_tables(text: str) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) of each Markdown table in `text` (its header row first, the separator row left out); the title
    is the last bold line before it, without the asterisks."""
    out: list[tuple[str, list[list[str]]]] = []
    title, rows = "", None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if rows is None:
                rows = []
                out.append((title, rows))
            if not all(set(c) <= set(":-") for c in cells):
                rows.append(cells)
            continue
        rows = None
        if line.startswith("**"):
            title = line.split("**")[1]
    return out

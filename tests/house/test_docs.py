"""The documents name only files that exist: every code path in README.md, DESIGN.md and
results/baselines/README.md, and in the docstrings and comments of the code itself, and every demo
baseline the baselines README mentions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "DESIGN.md", "results/baselines/README.md")
# a path right after "/" or ":" is another repository's (`T:tests/models/...` names a transformers file)
CODE_PATH = re.compile(r"(?<![\w/:.-])((?:harness|tests|benchmarks)/[\w./*-]*\.(?:py|json|md|yaml|toml))")


def _missing(text: str, pattern: re.Pattern, base: Path) -> list[str]:
    return [p for p in sorted(set(pattern.findall(text))) if not any(base.glob(p))]


def test_documents_name_existing_code_files():
    for doc in DOCS:
        assert _missing((ROOT / doc).read_text(), CODE_PATH, ROOT) == [], doc


def test_code_names_existing_code_files():
    sources = [p for d in ("harness", "tests", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    for src in sources:
        if src != Path(__file__).resolve():  # this file names a missing one on purpose
            assert _missing(src.read_text(), CODE_PATH, ROOT) == [], src.relative_to(ROOT)


def test_baselines_readme_names_existing_baselines():
    text = (ROOT / "results/baselines/README.md").read_text()
    assert _missing(text, re.compile(r"\b(demo-[\w*-]+\.json)"), ROOT / "results/baselines") == []


def test_the_check_sees_a_missing_file():
    assert _missing("see harness/no_such_module.py", CODE_PATH, ROOT) == ["harness/no_such_module.py"]

"""`scienceqa`: ScienceQA-IMG (test problems with an image), 2–5 lettered choices; accuracy and the official
breakdowns of tools/evaluate_acc.py (subject NAT/SOC/LAN, context TXT/IMG/NO, grade G1-6/G7-12, topic).

Layout: `problems.json` ({pid: {question, choices, answer, hint, image, grade, subject, topic, split, ...}}) and
`pid_splits.json` ({split: [pid]}) at the root or under `data/scienceqa/`; images at
`images/<problem's split>/<pid>/image.png` beside them (or under the root). Default split test (`scienceqa:val`,
`scienceqa:minitest`, ... pick others); problems without an image are left out and counted in `dropped`.
Items keep pid_splits.json's order; ids are the pids.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, mean_stderr, scored
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, parse_int, read_json, resolve_root

LOCATIONS = (".", "data/scienceqa")
SUBJECTS = {"natural science": "NAT", "social science": "SOC", "language science": "LAN"}
REQUIRED = ("question", "choices", "answer", "image", "subject", "grade")
MAX_CHOICES = 5
# lmms-eval's scienceqa_img (LLaVA's parse): "Context: {hint}\n" when the hint is non-empty, the question, the
# lettered choices, the letter instruction
PROMPTS = PromptSet(version="1", templates=mc_templates())
LAYOUT_HELP = (
    "problems.json + pid_splits.json (at the root or in data/scienceqa/) + images/<split>/<pid>/image.png; "
    "from lupantech/ScienceQA"
)


class ScienceQA(DatasetTask):
    name = "scienceqa"
    prompts = PROMPTS

    def __init__(self, root: Path, split: str = "test", seed: int = 0):
        root = Path(root)
        base = next((root / d for d in LOCATIONS if (root / d / "problems.json").is_file()), None)
        if base is None:
            raise DatasetNotFound(
                f"scienceqa: problems.json not found in {root} or {root / 'data' / 'scienceqa'}. "
                f"Expected layout: {LAYOUT_HELP}"
            )
        self.problems_file, self.splits_file = base / "problems.json", base / "pid_splits.json"
        if not self.splits_file.is_file():
            raise DatasetNotFound(
                f"scienceqa: {self.splits_file} not found (it lists each split's pids). Expected layout: {LAYOUT_HELP}"
            )
        images = next((d / "images" for d in (base, root) if (d / "images").is_dir()), None)
        if images is None:
            raise DatasetNotFound(
                f"scienceqa: image folder {base / 'images'} not found (tools/download.sh unpacks "
                f"images/{{train,val,test}}.zip there). Expected layout: {LAYOUT_HELP}"
            )
        self.images = images
        layout = f"ScienceQA release ({self.problems_file.relative_to(root).as_posix()} + images/), IMG subset"
        super().__init__(root, layout, split, seed)

    def _build_items(self) -> list[Item]:
        splits = read_json(self.splits_file, "scienceqa")
        if self.split not in splits:
            raise DatasetFormatError(
                f"scienceqa: split {self.split!r} is not in {self.splits_file} (splits: {sorted(splits)})"
            )
        pids = splits[self.split]
        if not isinstance(pids, list):
            raise DatasetFormatError(f"scienceqa: {self.splits_file}: {self.split!r} must be a list of pids")
        problems = read_json(self.problems_file, "scienceqa")
        items, no_image = [], 0
        for pid in map(str, pids):
            where = f"{self.problems_file} pid {pid!r}"
            p = problems.get(pid)
            if not isinstance(p, dict):
                raise DatasetFormatError(f"{where}: listed in {self.splits_file} ({self.split}) but not a problem here")
            missing = [k for k in REQUIRED if k not in p]
            if missing:
                raise DatasetFormatError(f"{where}: missing {missing}")
            if p["image"] is None:
                no_image += 1
                continue
            items.append(self._item(pid, p, where))
        self.dropped = {"no_image": no_image} if no_image else {}
        return items

    def _item(self, pid: str, p: dict[str, Any], where: str) -> Item:
        choices = p["choices"]
        if not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES:
            raise DatasetFormatError(
                f"{where}: 'choices' must be a list of 2 to {MAX_CHOICES} strings, got {choices!r}"
            )
        if not all(isinstance(c, str) for c in choices):
            raise DatasetFormatError(f"{where}: 'choices' must be strings, got {choices!r}")
        answer = parse_int(p["answer"], where, "answer")
        if not 0 <= answer < len(choices):
            raise DatasetFormatError(f"{where}: 'answer' {answer} is out of range for {len(choices)} choices")
        if p["subject"] not in SUBJECTS:
            raise DatasetFormatError(f"{where}: 'subject' {p['subject']!r} is not one of {sorted(SUBJECTS)}")
        m = re.fullmatch(r"grade(\d+)", str(p["grade"]))
        if not m or not 1 <= int(m.group(1)) <= 12:
            raise DatasetFormatError(f"{where}: 'grade' must be grade1..grade12, got {p['grade']!r}")
        # "" and null both mean no hint; the official scorer tests the hint's truth value
        hint = p.get("hint") or ""
        question = str(p["question"])
        return Item(
            id=pid,
            image=str(self.images / str(p.get("split") or self.split) / pid / str(p["image"])),
            question=f"Context: {hint}\n{question}" if hint else question,
            choices=tuple(choices),
            answer=answer,
            meta={
                "subject": p["subject"],
                "grade": p["grade"],
                "has_hint": bool(hint),
                "has_image": True,
                "topic": str(p.get("topic") or ""),
            },
        )

    def where(self, item: Item) -> str:
        return f"{self.problems_file} pid {item.id!r}"

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """tools/evaluate_acc.py's groups: subject, context (TXT and IMG overlap; NO is neither), grade; and topic."""
        groups: dict[str, dict[str, list[float]]] = {"subject": {}, "context": {}, "grade": {}, "topic": {}}
        for s in scored(samples):
            meta, hit = s["meta"], float(s["pred"] == s["answer"])
            keys = {
                "subject": [SUBJECTS[meta["subject"]]],
                "context": [k for k, on in (("TXT", meta["has_hint"]), ("IMG", meta["has_image"])) if on] or ["NO"],
                "grade": ["G1-6" if int(meta["grade"][5:]) <= 6 else "G7-12"],
                "topic": [meta["topic"]],
            }
            for group, values in keys.items():
                for v in values:
                    groups[group].setdefault(v, []).append(hit)
        return {g: {k: mean_stderr(v) for k, v in sorted(vals.items())} for g, vals in groups.items()}


@register("scienceqa")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> ScienceQA:
    """ScienceQA-IMG test (problems.json + pid_splits.json + images/); 2–5 choices, official accuracy breakdowns."""
    root = resolve_root("scienceqa", path, data_root, "scienceqa", LAYOUT_HELP)
    if root.is_file():  # --data scienceqa=.../problems.json
        root = root.parent
        for loc in (Path(d) for d in LOCATIONS if d != "."):  # a file in data/scienceqa/: the repository root
            if root.parts[-len(loc.parts) :] == loc.parts:
                root = root.parents[len(loc.parts) - 1]
    return ScienceQA(root, split=split or "test", seed=seed).load()

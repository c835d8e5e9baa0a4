"""Whether runs can share a table or a comparison: the same items, prompts, splits and scoring settings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.errors import InvalidInput
from harness.report.runs import Run, task_sort_key


class IncomparableRuns(InvalidInput):
    """The runs did not see the same items; the message names what differs."""


def _item_key_hash(run: Run, task: str) -> str | None:
    samples = run.samples(task)
    if not samples:
        return None
    keys = sorted((str(s["id"]), s.get("choices"), s.get("answer")) for s in samples)
    return hashlib.sha256(json.dumps(keys).encode()).hexdigest()


def prompts_sha256(run: Run, task: str) -> str | None:
    """sha256 of the sorted (id, prompt text) pairs; None without samples. The prompt lists the options, so
    this also catches other choice texts behind the same option letters."""
    samples = run.samples(task)
    if not samples:
        return None
    pairs = sorted((str(s["id"]), s.get("prompt")) for s in samples)
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode()).hexdigest()


def _differing(task: str, what: str, values: dict[str, Any]) -> str | None:
    """One readable line when `values` (run name → value) are not all equal."""
    by_value: dict[str, list[str]] = {}
    for run, v in values.items():
        shown = v[:12] + "…" if isinstance(v, str) and len(v) > 16 else repr(v)
        by_value.setdefault(shown, []).append(run)
    if len(by_value) < 2:
        return None
    return f"{task}: {what} differs — " + "; ".join(f"{v} in {', '.join(rs)}" for v, rs in by_value.items())


def comparability_problems(runs: list[Run]) -> list[str]:
    """Why the runs did not see the same items, one line per (task, field); [] when they did.
    CLIP-classification and VLM runs are different kinds of evaluation and are checked separately."""
    clip, vqa = [r for r in runs if r.is_clip], [r for r in runs if not r.is_clip]
    if clip and vqa:
        return comparability_problems(vqa) + comparability_problems(clip)
    names = unique_names(runs)
    problems: list[str] = []
    tasks = sorted({t for r in runs for t in r.tasks}, key=task_sort_key)
    for task in tasks:
        have = [r for r in runs if task in r.tasks]
        if len(have) < 2:
            continue
        fields = {
            "task version (data/prompt)": lambda r, task=task: r.tasks[task].get("version"),
            "split": lambda r, task=task: (r.tasks[task].get("describe") or {}).get("split"),
            "limit": lambda r: r.config("limit"),
            "prompt style": lambda r: r.config("prompt_style"),
            "scoring mode": lambda r: r.config("mode") or "likelihood",
        }
        for what, get in fields.items():
            line = _differing(task, what, {names[id(r)]: get(r) for r in have})
            if line:
                problems.append(line)
        for vlm in sorted({r.vlm for r in have}):
            group = [r for r in have if r.vlm == vlm]
            line = _differing(
                task,
                f"item set ({vlm}: ids, choices, answers)",
                {names[id(r)]: r.tasks[task].get("item_set_sha256") for r in group},
            )
            prompts = {names[id(r)]: prompts_sha256(r, task) for r in group}
            if not line and None not in prompts.values():
                line = _differing(task, f"prompt texts ({vlm}: questions, options)", prompts)
            if line:
                problems.append(line)
        if len({r.vlm for r in have}) > 1:
            keys = {
                names[id(r)]: _item_key_hash(r, task)
                or f"{r.tasks[task].get('n', 0) + r.tasks[task].get('n_errors', 0)} items"
                for r in have
            }
            line = _differing(task, "item set across VLMs (ids, choices, answers)", keys)
            if line:
                problems.append(line)
    return problems


def require_comparable(runs: list[Run], force: bool = False) -> list[str]:
    """Raise IncomparableRuns naming the differences, unless `force` (then return them as warnings)."""
    problems = comparability_problems(runs)
    if problems and not force:
        raise IncomparableRuns(
            "the runs did not see the same items (use --force to compare anyway):\n  " + "\n  ".join(problems)
        )
    return problems


def unique_names(runs: list[Run], within_vlm: bool = False) -> dict[int, str]:
    """Run labels, made unique: the VLM is added where labels repeat across VLMs (unless `within_vlm`),
    the run directory's name where they repeat within one."""

    def count(key) -> dict:
        c: dict = {}
        for r in runs:
            c[key(r)] = c.get(key(r), 0) + 1
        return c

    per_label, per_vlm_label = count(lambda r: r.label), count(lambda r: (r.vlm, r.label))
    out = {}
    for r in runs:
        name = r.label
        if per_vlm_label[(r.vlm, r.label)] > 1:
            name = f"{r.label} [{r.path.name}]"
        if not within_vlm and per_label[r.label] > 1:
            name = f"{name} ({r.vlm})"
        out[id(r)] = name
    return out

"""Run records as objects: one run directory's results.json with its samples, and task naming.

Task keys are `name[:split]` (e.g. `hm:dev_seen`); the paper's column order and each task's primary
metrics live here, shared by tables, compare, the gate and the plot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputNotFound, UnknownName
from harness.eval.records import read_results, read_samples

TASK_ORDER = (
    "vsr",
    "vizwiz",
    "hm",
    "dalle",
    "tsi",
    "gts",
    "aircraft",
    "eurosat",
    "counteranimal",
    "mmvp",
    "visonlyqa",
    "pope",
    "mme",
    "mmbench",
    "seed_bench",
    "scienceqa",
)
TASK_TITLES = {
    "vsr": "VSR",
    "vizwiz": "VizWiz",
    "hm": "HM",
    "dalle": "DA·E",
    "tsi": "TSI",
    "gts": "GTS",
    "pope": "POPE",
    "mme": "MME",
    "mmbench": "MMBench",
    "seed_bench": "SEED",
    "scienceqa": "SQA-IMG",
    "aircraft": "Aircraft",
    "eurosat": "EuroSAT",
    "counteranimal": "CounterAnimal",
    "mmvp": "MMVP",
    "visonlyqa": "VisOnlyQA",
}
PRIMARY = {
    "vizwiz": ("vqa_acc",),
    "hm": ("auroc", "acc"),
    "pope": ("f1", "acc"),
    "mme": ("perception", "cognition"),
    "mmbench": ("circular_acc",),
    "aircraft": ("acc", "mean_class_acc"),
    "counteranimal": ("acc_common", "acc_counter", "drop"),
    "mmvp": ("acc", "pair_acc"),
}
CLIP_PRIMARY = ("top1", "top5")
METRIC_TITLES = {
    "acc": "acc",
    "acc_norm": "acc_norm",
    "auroc": "AUROC",
    "vqa_acc": "VQA acc",
    "top1": "top-1",
    "top5": "top-5",
    "f1": "F1",
    "circular_acc": "circular acc",
    "mean_class_acc": "mean class acc",
    "pair_acc": "pair acc",
    "acc_common": "acc common",
    "acc_counter": "acc counter",
    "drop": "drop (common − counter)",
    "acc_official": "official acc",
    "acc_official_fixed": "official acc (fixed)",
}
DIGITS = 1
# metrics recorded in their official points, not as fractions (MME: subtask scores up to 200, summed)
POINT_METRICS = frozenset({"perception", "cognition", "score"})


def display_scale(metric: str) -> float:
    """The factor a recorded value is shown with: 100 (fractions shown in %), 1 for metrics already in points."""
    return 1.0 if metric in POINT_METRICS else 100.0


@dataclass
class Run:
    """One run directory's results.json, with its samples read on demand."""

    path: Path
    results: dict[str, Any]
    _samples: dict[str, list[dict[str, Any]]] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return str(self.results.get("label") or self.run_id)

    @property
    def run_id(self) -> str:
        return str(self.results.get("run_id") or self.path.name)

    @property
    def vlm(self) -> str:
        return str(self.results.get("config", {}).get("vlm", "?"))

    @property
    def is_clip(self) -> bool:
        return self.vlm == "clip"

    @property
    def is_zero_shot(self) -> bool:
        """The VLM as released: no encoder swapped in and no PEFT adapter merged."""
        return self.results.get("encoder") is None and self.results.get("peft") is None

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.results.get("tasks", {})

    def config(self, key: str) -> Any:
        return self.results.get("config", {}).get(key)

    def metric(self, task: str, metric: str) -> float | None:
        """The recorded value, or None when the task or metric is absent or undefined (null in results.json; NaN in
        files written before harness.jsonio)."""
        m = self.tasks.get(task, {}).get("metrics", {}).get(metric)
        v = m.get("value") if m else None
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    def stderr(self, task: str, metric: str) -> float | None:
        m = self.tasks.get(task, {}).get("metrics", {}).get(metric)
        se = m.get("stderr") if m else None
        return None if se is None or (isinstance(se, float) and math.isnan(se)) else float(se)

    def samples(self, task: str) -> list[dict[str, Any]]:
        """This task's samples ([] when samples.jsonl is absent)."""
        if self._samples is None:
            self._samples = {}
            if (self.path / "samples.jsonl").exists():
                for s in read_samples(self.path):
                    self._samples.setdefault(s["task"], []).append(s)
        return self._samples.get(task, [])


def load_run(path: Path | str) -> Run:
    return Run(Path(path), read_results(Path(path)))


def split_key(key: str) -> tuple[str, str]:
    """A record's task key `name[:split]` → (task name, split or "")."""
    name, _, split = key.partition(":")
    return name, split


def task_sort_key(key: str) -> tuple[int, str, str]:
    name, split = split_key(key)
    return (TASK_ORDER.index(name) if name in TASK_ORDER else len(TASK_ORDER), name, split)


def task_title(key: str) -> str:
    name, split = split_key(key)
    title = TASK_TITLES.get(name, name)
    return f"{title} ({split})" if split else title


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric)


def primary_metrics(key: str, runs: Iterable[Run]) -> tuple[str, ...]:
    """The task's primary metrics that at least one of `runs` recorded (generic tasks: acc, else the first)."""
    runs = list(runs)
    recorded = [m for r in runs for m in r.tasks.get(key, {}).get("metrics", {})]
    wanted = CLIP_PRIMARY if runs and all(r.is_clip for r in runs) else PRIMARY.get(split_key(key)[0], ("acc",))
    found = tuple(m for m in wanted if m in recorded)
    return found or tuple(recorded[:1])


def expand_run_dirs(paths: list[Path]) -> list[Path]:
    """Run directories as given; a folder without results.json stands for its run subfolders (sorted)."""
    out: list[Path] = []
    for p in paths:
        if (p / "results.json").exists() or not p.is_dir():
            out.append(p)
            continue
        subs = sorted(q for q in p.iterdir() if (q / "results.json").exists())
        if not subs:
            raise InputNotFound(f"no results.json in {p} or its subfolders (is it a harness run directory?)")
        out += subs
    return out


def _match_task(text: str, keys: list[str]) -> str | None:
    t = text.strip().lower()
    exact = [k for k in keys if t in (k.lower(), task_title(k).lower())]
    by_name = [k for k in keys if t in (split_key(k)[0], TASK_TITLES.get(split_key(k)[0], "").lower())]
    hits = exact or by_name
    return hits[0] if len(hits) == 1 else None


def resolve_task(text: str, tasks: Iterable[str]) -> tuple[str, str | None]:
    """`TSI`, `tsi`, `DA·E`, `hm:dev_seen`, `HM:acc` → (task key, metric or None) among the record keys
    `tasks` (case-insensitive; a bare name matches a key with a split when only one has that name)."""
    keys = sorted(tasks)
    key = _match_task(text, keys)
    if key is not None:
        return key, None
    left, sep, metric = text.rpartition(":")
    key = _match_task(left, keys) if sep else None
    if key is not None and metric.strip():
        return key, metric.strip()
    raise UnknownName(
        f"task {text!r} is in none of the runs, or names several (they have: {', '.join(keys) or 'none'})"
    )

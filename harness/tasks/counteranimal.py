"""`counteranimal`: CounterAnimal (Wang et al. 2024, "A Sober Look at the Robustness of CLIPs to Spurious Features")
as five-option multiple choice, "What is the species of this animal?", scored on the common- and counter-background
photos separately; the drop (common − counter) measures the reliance on spurious backgrounds.

Layout (HuggingFace `clip-oscope/CounterAnimal`, as LoRSU reads it): `<root>/LAION-final/<ImageNet id> <name>/`
holding `common-<background>/*.jpg` (the easy group) and `counter-<background>/*.jpg` (the hard group); `<root>`
may also be `LAION-final/` itself. The class is the folder's leading ImageNet-1k index; the name after it is kept in
`meta["folder_name"]` and not checked (the truth is CLIP's ImageNet class name of that index). Files beside the class
folders (`imagenet_names.txt`, LoRSU's unreleased pickles) are ignored.

Splits `[<labels>/]<group>`: group `all` (default), `common` or `counter`; labels `imagenet` (default: distractors
from CLIP's 1000 ImageNet class names, the paper's "1 vs. 1000" label space; the two names CLIP's list repeats,
"missile" and "sunglasses", occur once) or `animals` (distractors from the 45 CounterAnimal classes; the paper's
"1 vs. 20" lists of the 20 most confusing labels per class were not released). E.g. `counteranimal:counter`,
`counteranimal:animals/common`. Choice sets are drawn over both groups and then filtered, so an item has the same
choices in every group split. Ids: `<ImageNet id>/<common|counter>-<background>/<image stem>`.

Bad input: a folder not named `<int> <name>` and a subfolder not named `common-*`/`counter-*` are left out, their
images counted in `describe()["dropped"]` (the DA·E/TSI policy); an index outside 0..999, two folders of one index,
or (with `animals`) an index that is not a CounterAnimal class is a `DatasetFormatError` naming the folder.
"""

from __future__ import annotations

import importlib.util
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.choice_task import ChoiceTask, Record
from harness.tasks.metrics import Metric, accuracy_by, mean_stderr, scored
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, image_files, resolve_root

QUESTION = "What is the species of this animal?"  # LoRSU's CounterAnimalVQA
PROMPTS = PromptSet(version="1", templates=mc_templates())
LAYOUT_HELP = (
    "LAION-final/<ImageNet id> <name>/{common,counter}-<background>/*.jpg "
    "(e.g. 'LAION-final/296 ice bear/counter-grass/1.jpg'), under the root or as the root"
)
# the 45 classes' ImageNet-1k indices (LoRSU's src/clip_ft/data_utils.py session list, sorted)
COUNTERANIMAL_IDS = (
    *(9, 10, 16, 20, 23, 30, 33, 37, 39, 41, 42, 49, 54, 56, 57, 58, 70, 71, 76, 79, 80, 81, 83, 89, 100),
    *(102, 128, 130, 133, 144, 150, 275, 276, 277, 279, 290, 291, 293, 296, 305, 316, 337, 349, 357, 360),
)
LABEL_SPACES = ("imagenet", "animals")
GROUPS = ("all", "common", "counter")
_CLASS = re.compile(r"^(\d+) (\S.*)$")
_SUBFOLDER = re.compile(r"^(common|counter)-(.+)$")


@cache
def imagenet_class_names() -> tuple[str, ...]:
    """CLIP's 1000 ImageNet class names (open_clip's `IMAGENET_CLASSNAMES`), index order.

    The metadata file is loaded by path: importing `open_clip.zero_shot_metadata` would run open_clip's
    `__init__`, which imports torch, and tasks are built before any model check (the fail-fast rule).
    """
    spec = importlib.util.find_spec("open_clip")
    folder = Path(next(iter(spec.submodule_search_locations or []))) if spec else None
    file = folder / "zero_shot_metadata.py" if folder else None
    if file is None or not file.is_file():
        raise DatasetNotFound("counteranimal: open_clip's zero_shot_metadata.py (the ImageNet class names) not found")
    module_spec = importlib.util.spec_from_file_location("_open_clip_zero_shot_metadata", file)
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    return tuple(module.IMAGENET_CLASSNAMES)


def parse_split(split: str) -> tuple[str, str]:
    """(label space, group) from `[<labels>/]<group>`, `<labels>` or `<group>`."""
    head, sep, tail = split.partition("/")
    labels, group = (head, tail) if sep else (split, "all") if split in LABEL_SPACES else ("imagenet", split)
    if labels not in LABEL_SPACES or group not in GROUPS:
        raise InvalidInput(
            f"counteranimal: unknown split {split!r}; expected [<labels>/]<group> with labels one of {LABEL_SPACES} "
            f"and group one of {GROUPS} (e.g. 'counter', 'animals', 'animals/counter')"
        )
    return labels, group


class CounterAnimal(ChoiceTask):
    name = "counteranimal"
    prompts = PROMPTS
    question = QUESTION

    def __init__(self, root: Path, split: str = "all", seed: int = 0):
        self.label_space, self.group = parse_split(split)
        self.folder = _detect(Path(root))
        self.names = imagenet_class_names()
        if self.label_space == "imagenet":
            labels = tuple(dict.fromkeys(self.names))  # each repeated name once
        else:
            labels = tuple(self.names[i] for i in COUNTERANIMAL_IDS)
        layout = f"CounterAnimal ({self.folder.name}/<id> <name>/{{common,counter}}-<background>/)"
        super().__init__(root, layout, f"{self.label_space}/{self.group}", seed, labels)
        groups = tuple(f"acc_{g}" for g in GROUPS[1:] if self.group in ("all", g))
        self.metric_names = (*ChoiceTask.metric_names, *groups, *(("drop",) if self.group == "all" else ()))

    def _records(self) -> list[Record]:
        self.dropped = {}
        seen: dict[int, Path] = {}
        out = []
        for class_dir in sorted(d for d in self.folder.iterdir() if d.is_dir() and not d.name.startswith(".")):
            subdirs = sorted(d for d in class_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
            m = _CLASS.match(class_dir.name)
            if m is None:
                self._drop(f"folder {class_dir.name!r} (not '<ImageNet id> <name>')", subdirs)
                continue
            cid = self._class_id(class_dir, int(m[1]), seen)
            for sub in subdirs:
                g = _SUBFOLDER.match(sub.name)
                if g is None:
                    self._drop(f"subfolder {class_dir.name}/{sub.name} (not common-*/counter-*)", [sub])
                    continue
                meta = {"imagenet_id": cid, "group": g[1], "background": g[2], "folder_name": m[2]}
                for img in image_files(sub):
                    out.append(Record(f"{cid}/{sub.name}/{img.stem}", str(img), self.names[cid], dict(meta)))
        return out

    def _class_id(self, class_dir: Path, cid: int, seen: dict[int, Path]) -> int:
        if not 0 <= cid < len(self.names):
            raise DatasetFormatError(f"counteranimal: {class_dir}: ImageNet id {cid} is outside 0..999")
        if cid in seen:
            raise DatasetFormatError(f"counteranimal: {seen[cid]} and {class_dir} are both ImageNet class {cid}")
        if self.label_space == "animals" and cid not in COUNTERANIMAL_IDS:
            raise DatasetFormatError(
                f"counteranimal: {class_dir}: ImageNet class {cid} ({self.names[cid]}) is not one of the 45 "
                "CounterAnimal classes of the 'animals' label space; use the 'imagenet' label space"
            )
        seen[cid] = class_dir
        return cid

    def _drop(self, key: str, folders: list[Path]) -> None:
        self.dropped[key] = self.dropped.get(key, 0) + sum(len(image_files(d)) for d in folders)

    def _keep(self, record: Record) -> bool:
        return self.group in ("all", record.meta["group"])

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        """The choice tasks' metrics (acc, acc_norm, ...) over the items; acc on each group; the drop, common −
        counter, with the standard error of a difference of two independent means (sqrt(se_common² + se_counter²))."""
        by_group = accuracy_by(samples, "group")
        nan = Metric(math.nan, None)
        common, counter = by_group.get("common", nan), by_group.get("counter", nan)
        out = {**super().metrics(samples), "acc_common": common, "acc_counter": counter}
        out["drop"] = drop(common, counter)
        return {k: out[k] for k in self.metric_names if k in out}

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Accuracy per group and background, and per class ("<id> <name>", index order) on each group, with the
        class's drop."""
        per: dict[int, dict[str, list[float]]] = {}
        for s in scored(samples):
            row = per.setdefault(int(s["meta"]["imagenet_id"]), {"common": [], "counter": []})
            row[s["meta"]["group"]].append(float(s["pred"] == s["answer"]))
        out: dict[str, dict[str, Metric]] = {"group": accuracy_by(samples, "group")}
        out["background"] = _by_background(samples)
        for g in GROUPS[1:]:
            if self.group in ("all", g):
                out[f"class_{g}"] = {f"{c} {self.names[c]}": mean_stderr(per[c][g]) for c in sorted(per)}
        if self.group == "all":
            out["class_drop"] = {
                f"{c} {self.names[c]}": drop(mean_stderr(per[c]["common"]), mean_stderr(per[c]["counter"]))
                for c in sorted(per)
            }
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "label_space": self.label_space, "group": self.group}


def drop(common: Metric, counter: Metric) -> Metric:
    """common − counter; the stderr when both have one (independent groups: the variances add)."""
    if common.stderr is None or counter.stderr is None:
        return Metric(common.value - counter.value, None)
    return Metric(common.value - counter.value, math.hypot(common.stderr, counter.stderr))


def _by_background(samples: list[dict[str, Any]]) -> dict[str, Metric]:
    """Accuracy per "<group>-<background>" (e.g. "counter-grass"), pooled over the classes."""
    keyed = [{**s, "meta": {**s["meta"], "_bg": f"{s['meta']['group']}-{s['meta']['background']}"}} for s in samples]
    return accuracy_by(keyed, "_bg")


def _detect(root: Path) -> Path:
    """The folder holding the class folders: `root/LAION-final` or `root` itself."""
    for folder in (root / "LAION-final", root):
        if folder.is_dir() and any(d.is_dir() and _CLASS.match(d.name) for d in folder.iterdir()):
            return folder
    raise DatasetNotFound(f"counteranimal: no CounterAnimal class folders under {root}. Expected layout: {LAYOUT_HELP}")


@register("counteranimal")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> CounterAnimal:
    """CounterAnimal LAION-final; 5-option MC over the 1000 ImageNet names (`:animals`, the 45); acc per group, drop."""
    root = resolve_root("counteranimal", path, data_root, "counteranimal", LAYOUT_HELP)
    return CounterAnimal(root, split=split or "all", seed=seed).load()

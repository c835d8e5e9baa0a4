"""`eurosat`: EuroSAT RGB land-use photos as five-option multiple choice over CLIP's ten class names.

Release layout: the EuroSAT RGB zip unpacks to `2750/<Class>/<Class>_<n>.jpg` (27,000 64×64 JPEGs in the ten
class folders of `EUROSAT_CLASSES`). The root may be `2750/` itself, a folder holding `2750/` (`--data-root DIR`
reads `DIR/eurosat/2750`), or torchvision's `EuroSAT(root)` root holding `eurosat/2750/`. The class id is the
folder's index in sorted order (torchvision's ImageFolder, CoOp and LoRSU number the classes so).

EuroSAT has no official split. CoOp's `split_zhou_EuroSAT.json` beside `2750/` is read when present
(`{"train"|"val"|"test": [[path under 2750/, label, classname], ...]}`); otherwise each class's files are
shuffled by a fixed seed (`SPLIT_SEED`, not `--seed`) and cut with CoOp's counts: round(n·0.5) train,
round(n·0.2) val, the rest test (13,500 / 5,400 / 8,100 on the full release, the sizes of CoOp's file).
`describe()` names the split source and its sha256 (the file's bytes, or the seeded split's `split_json`).
LoRSU evaluates on its own `eurosat_split.pkl`, which is not released.

A folder under `2750/` that is not one of the ten classes is an error, as GTSRB's out-of-range ClassId: it means
another release (EuroSAT MS, a relabelled copy), and skipping or renumbering it would silently change what is
measured. A class folder that is absent (a partly unpacked zip) is listed in `describe()["class_folders_missing"]`;
the other classes keep their split. Hidden entries and non-image files are ignored. Item ids are the file stems
("AnnualCrop_1"), the key of LoRSU's VQA pickle without its ".jpg".
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.captions import EUROSAT_CLASSES
from harness.tasks.choice_task import ChoiceTask, Record
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import (
    DatasetFormatError,
    DatasetNotFound,
    image_files,
    parse_int,
    read_json,
    resolve_root,
    stable_hash,
)

# LoRSU's EuroSATVQA question (src/llava/datasets/vqa_datasets.py)
QUESTION = "What does this centered satellite photo show?"
PROMPTS = PromptSet(version="1", templates=mc_templates())
FOLDERS: tuple[str, ...] = tuple(EUROSAT_CLASSES)
LABELS: tuple[str, ...] = tuple(EUROSAT_CLASSES.values())
SPLITS = ("test", "train", "val")
IMAGES = "2750"
SPLIT_FILE = "split_zhou_EuroSAT.json"
SPLIT_SEED = "eurosat-split-1"
LAYOUT_HELP = (
    f"EuroSAT RGB 2750/<Class>/<Class>_<n>.jpg with the class folders {', '.join(FOLDERS)} (the root may be "
    f"2750/, its parent, or torchvision's root holding eurosat/2750/), optionally CoOp's {SPLIT_FILE} beside 2750/"
)
Split = dict[str, list[tuple[str, int]]]  # split name -> (path under 2750/, class id)


class EuroSat(ChoiceTask):
    name = "eurosat"
    prompts = PROMPTS
    question = QUESTION

    def __init__(self, root: Path, split: str = "test", seed: int = 0):
        if split not in SPLITS:
            raise InvalidInput(f"eurosat: unknown split {split!r}; expected one of {SPLITS}")
        root = Path(root)
        self.images = find_images(root)
        check_folders(self.images)
        file = self.images.parent / SPLIT_FILE
        self.split_file = file if file.is_file() else None
        self.split_source = f"CoOp {SPLIT_FILE}" if self.split_file else f"seeded 50/20/30 per class ({SPLIT_SEED})"
        self.split_sha256 = ""
        where = self.images.relative_to(root).as_posix() if self.images != root else "."
        super().__init__(root, f"EuroSAT RGB ({where}/, split: {self.split_source})", split, seed, LABELS)

    def _records(self) -> list[Record]:
        if self.split_file is not None:
            splits = read_coop_split(self.split_file)
            self.split_sha256 = hashlib.sha256(self.split_file.read_bytes()).hexdigest()
            missing = [rel for rel, _ in splits[self.split] if not (self.images / rel).is_file()]
            if missing:
                raise DatasetNotFound(
                    f"eurosat: {len(missing)} images of {self.split_file}'s {self.split!r} split are not under "
                    f"{self.images}, e.g. {missing[:3]}. Expected layout: {LAYOUT_HELP}"
                )
        else:
            splits = seeded_split(self.images)
            self.split_sha256 = hashlib.sha256(split_json(splits).encode("utf-8")).hexdigest()
        return [
            Record(id=Path(rel).stem, image=str(self.images / rel), label=LABELS[cid], meta={"class_id": cid})
            for rel, cid in splits[self.split]
        ]

    def describe(self) -> dict[str, Any]:
        info = super().describe()  # loads the items, which sets the split's sha256
        absent = [f for f in FOLDERS if not (self.images / f).is_dir()]
        return {
            **info,
            "split_source": self.split_source,
            "split_sha256": self.split_sha256,
            "class_folders_missing": absent,
        }


def find_images(root: Path) -> Path:
    """The folder of class folders: `root/2750`, `root/eurosat/2750` or `root` itself."""
    for folder in (root / IMAGES, root / "eurosat" / IMAGES, root):
        if folder.is_dir() and any((folder / name).is_dir() for name in FOLDERS):
            return folder
    raise DatasetNotFound(f"eurosat: no EuroSAT RGB class folders under {root}. Expected layout: {LAYOUT_HELP}")


def check_folders(images: Path) -> None:
    """Every visible folder under `images` is one of the ten classes."""
    for entry in sorted(images.iterdir()):
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in EUROSAT_CLASSES:
            raise DatasetFormatError(
                f"eurosat: {entry} is not a EuroSAT RGB class folder; expected only {', '.join(FOLDERS)}"
            )


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, val, test) sizes of a class of `n` images, CoOp's counts (Python's round, half to even)."""
    n_train, n_val = round(n * 0.5), round(n * 0.2)
    return n_train, n_val, n - n_train - n_val


def seeded_split(images: Path) -> Split:
    """Each class's image files, sorted, shuffled by `SPLIT_SEED` and cut by `split_sizes`."""
    out: Split = {"train": [], "val": [], "test": []}
    for cid, folder in enumerate(FOLDERS):
        files = [p.name for p in image_files(images / folder)] if (images / folder).is_dir() else []
        random.Random(stable_hash(SPLIT_SEED, folder)).shuffle(files)
        n_train, n_val, _ = split_sizes(len(files))
        for name, part in (("train", files[:n_train]), ("val", files[n_train : n_train + n_val])):
            out[name] += [(f"{folder}/{f}", cid) for f in part]
        out["test"] += [(f"{folder}/{f}", cid) for f in files[n_train + n_val :]]
    return out


def split_json(splits: Split) -> str:
    """The split as hashed: compact JSON, keys sorted, each split's [path, class id] rows sorted."""
    return json.dumps({k: sorted([rel, cid] for rel, cid in v) for k, v in splits.items()}, sort_keys=True)


def read_coop_split(path: Path) -> Split:
    """CoOp's split file, every row checked: a known class folder, its label, no file in two splits."""
    data = read_json(path, "eurosat split")
    out: Split = {}
    seen: dict[str, str] = {}
    for name in ("train", "val", "test"):
        rows = data.get(name)
        if not isinstance(rows, list):
            raise DatasetFormatError(f"eurosat: {path}: {name!r} must be a list of [path, label, classname] rows")
        out[name] = [_coop_row(f"eurosat: {path}: {name}[{k}]", row) for k, row in enumerate(rows)]
        for rel, _ in out[name]:
            if seen.setdefault(rel, name) != name:
                raise DatasetFormatError(f"eurosat: {path}: {rel!r} is in both {seen[rel]!r} and {name!r}")
    return out


def _coop_row(where: str, row: Any) -> tuple[str, int]:
    if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str) and isinstance(row[2], str)):
        raise DatasetFormatError(f"{where}: expected [path under {IMAGES}/, label, classname], got {row!r:.80}")
    cid = parse_int(row[1], where, "label")
    rel = row[0].replace("\\", "/")
    folder = rel.split("/", 1)[0]
    if folder not in EUROSAT_CLASSES:
        raise DatasetFormatError(f"{where}: {rel!r} is not in a EuroSAT class folder ({', '.join(FOLDERS)})")
    if cid != FOLDERS.index(folder):
        raise DatasetFormatError(
            f"{where}: label {cid} for {rel!r}, but {folder} is class {FOLDERS.index(folder)} (0..9 in folder order)"
        )
    return rel, cid


@register("eurosat")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> EuroSat:
    """EuroSAT RGB (2750/<Class>/*.jpg; CoOp's split or a seeded 50/20/30); 5-option MC over the 10 CLIP names."""
    root = resolve_root("eurosat", path, data_root, "eurosat", LAYOUT_HELP)
    return EuroSat(root, split=split or "test", seed=seed).load()

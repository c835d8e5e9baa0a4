"""`imagenet`: ImageNet-1k val for CLIP zero-shot classification (`--vlm clip`).

Layouts (class index = sorted-wnid order, CLIP's curated class names and 80 templates from open_clip):
- torchvision: `<root>/val/<wnid>/*.JPEG`;
- Kaggle LOC: `<root>/LOC_val_solution.csv` (`ImageId,PredictionString`, wnid first) and
  `<root>/ILSVRC/Data/CLS-LOC/val/<ImageId>.JPEG`;
- raw: flat `<root>/val/ILSVRC2012_val_%08d.JPEG` (or `<root>/ILSVRC2012_img_val/`) with the devkit's
  `ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt`, whose ILSVRC2012_IDs map to wnids
  through the devkit's `data/meta.mat`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.tasks.base import Item, Task
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, resolve_root

LAYOUT = (
    "val/<wnid>/*.JPEG (torchvision), or LOC_val_solution.csv + ILSVRC/Data/CLS-LOC/val/ (Kaggle), or "
    "flat val/ILSVRC2012_val_*.JPEG + ILSVRC2012_devkit_t12/data/{ILSVRC2012_validation_ground_truth.txt,"
    "meta.mat} (raw)"
)
DEVKIT = Path("ILSVRC2012_devkit_t12") / "data"


def clip_class_names() -> list[str]:
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    return list(IMAGENET_CLASSNAMES)


def clip_templates() -> tuple[str, ...]:
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

    return tuple(t("{}") for t in OPENAI_IMAGENET_TEMPLATES)


class ImageNet(Task):
    name = "imagenet"
    version = "1"
    classification = True  # a class-name classification task: for --vlm clip, not option scoring

    def __init__(self, root: Path):
        self.root = Path(root)
        self.layout, rows = self._read()
        wnids = sorted({w for _, w in rows})
        if len(wnids) > 1000:
            raise DatasetFormatError(f"imagenet: {len(wnids)} classes under {self.root}; expected at most 1000")
        self.wnids = self._all_wnids(wnids)
        index = {w: i for i, w in enumerate(self.wnids)}
        self._items = [
            Item(
                id=Path(p).stem,
                image=str(p),
                question="",
                choices=(),
                answer=index[w],
                meta={"wnid": w, "class_index": index[w]},
            )
            for p, w in sorted(rows, key=lambda r: Path(r[0]).stem)
        ]

    def _all_wnids(self, seen: list[str]) -> list[str]:
        """The 1000 wnids in sorted order (from the synset file when present, else those seen)."""
        for cand in (self.root / "LOC_synset_mapping.txt", self.root / "synsets.txt"):
            if cand.is_file():
                return sorted(line.split()[0] for line in cand.read_text().splitlines() if line.strip())
        return seen

    def _read(self) -> tuple[str, list[tuple[str, str]]]:
        val = self.root / "val"
        if val.is_dir() and any(p.is_dir() for p in val.iterdir()):
            return "torchvision", [
                (str(p), d.name)
                for d in val.iterdir()
                if d.is_dir()
                for p in d.iterdir()
                if p.suffix.lower() in (".jpeg", ".jpg", ".png")
            ]
        sol = self.root / "LOC_val_solution.csv"
        if sol.is_file():
            img_dir = self.root / "ILSVRC" / "Data" / "CLS-LOC" / "val"
            with open(sol, newline="") as f:
                rows = [
                    (str(img_dir / f"{r['ImageId']}.JPEG"), r["PredictionString"].split()[0]) for r in csv.DictReader(f)
                ]
            return "kaggle-loc", rows
        truth = self.root / DEVKIT / "ILSVRC2012_validation_ground_truth.txt"
        if truth.is_file():
            return "raw", self._raw_rows(truth)
        raise DatasetNotFound(f"imagenet: no known layout under {self.root}. Expected: {LAYOUT}")

    def _raw_rows(self, truth: Path) -> list[tuple[str, str]]:
        from scipy.io import loadmat

        meta = self.root / DEVKIT / "meta.mat"
        if not meta.is_file():
            raise DatasetNotFound(f"imagenet: {meta} is missing (raw layout needs the devkit's meta.mat)")
        synsets = loadmat(str(meta), squeeze_me=True)["synsets"]
        id_to_wnid = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
        img_dir = next((d for d in (self.root / "val", self.root / "ILSVRC2012_img_val") if d.is_dir()), None)
        if img_dir is None:
            raise DatasetNotFound(f"imagenet: no val/ or ILSVRC2012_img_val/ image folder under {self.root}")
        labels = [int(x) for x in truth.read_text().split()]
        return [(str(img_dir / f"ILSVRC2012_val_{i:08d}.JPEG"), id_to_wnid[lab]) for i, lab in enumerate(labels, 1)]

    def items(self) -> Iterator[Item]:
        return iter(self._items)

    def class_names(self) -> list[str]:
        names = clip_class_names()
        return names if len(self.wnids) == 1000 else [f"class {w}" for w in self.wnids]

    def templates(self) -> tuple[str, ...]:
        return clip_templates()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "root": str(self.root),
            "layout": self.layout,
            "split": "val",
            "items": len(self._items),
            "classes": len(self.wnids),
            "metrics": ["top1", "top5"],
        }


@register("imagenet")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0) -> ImageNet:
    """ImageNet-1k val (torchvision, Kaggle LOC or raw devkit layout); CLIP zero-shot top-1/top-5."""
    return ImageNet(resolve_root("imagenet", path, data_root, "imagenet", LAYOUT))

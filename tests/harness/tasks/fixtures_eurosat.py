"""EuroSAT RGB fixtures: the release's `2750/<Class>/<Class>_<n>.jpg` tree with a few 64×64 JPEGs per class, in
the zip's and torchvision's layouts, and CoOp's `split_zhou_EuroSAT.json` written as dassl's write_json does.
Self-contained (no import of `fixtures.py`), so `fixtures.build_all_fixtures` may import it."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image

# images per class folder: uneven, so CoOp's rounding shows (hand-checked splits in test_eurosat.py)
COUNTS = {
    "AnnualCrop": 5,
    "Forest": 7,
    "HerbaceousVegetation": 3,
    "Highway": 4,
    "Industrial": 6,
    "Pasture": 2,
    "PermanentCrop": 5,
    "Residential": 8,
    "River": 4,
    "SeaLake": 6,
}
# CoOp's NEW_CNAMES (datasets/eurosat.py), the classname column of its split file
COOP_NAMES = {
    "AnnualCrop": "Annual Crop Land",
    "Forest": "Forest",
    "HerbaceousVegetation": "Herbaceous Vegetation Land",
    "Highway": "Highway or Road",
    "Industrial": "Industrial Buildings",
    "Pasture": "Pasture Land",
    "PermanentCrop": "Permanent Crop Land",
    "Residential": "Residential Buildings",
    "River": "River",
    "SeaLake": "Sea or Lake",
}


def write_jpeg(path: Path, seed: int, size: int = 64) -> Path:
    """A deterministic `size`×`size` RGB JPEG (a seeded colour with a few seeded pixels), as the release's."""
    rng = random.Random(seed)
    im = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(16):
        im.putpixel((rng.randrange(size), rng.randrange(size)), tuple(rng.randrange(256) for _ in range(3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="JPEG")
    return path


def build_eurosat(root: Path, counts: dict[str, int] | None = None) -> Path:
    """`root/2750/<Class>/<Class>_<n>.jpg`, n = 1..count, as the EuroSAT RGB zip unpacks; returns `root`."""
    for k, (folder, n) in enumerate((counts or COUNTS).items()):
        for i in range(1, n + 1):
            write_jpeg(root / "2750" / folder / f"{folder}_{i}.jpg", 1000 * k + i)
    return root


def build_eurosat_torchvision(root: Path) -> Path:
    """torchvision's `EuroSAT(root)` layout, `root/eurosat/2750/...`; returns `root`."""
    build_eurosat(root / "eurosat")
    return root


def coop_assignment(folder: str, n: int) -> str:
    """A hand-checkable split for the CoOp file: every third image (n = 1, 4, 7, ...) test, n = 2, 5, ... val."""
    return ("test", "val", "train")[(n - 1) % 3]


def write_coop_split(base: Path, rows: dict[str, list] | None = None) -> Path:
    """`base/split_zhou_EuroSAT.json` beside `base/2750`: `rows`, or `coop_assignment` over `COUNTS`."""
    if rows is None:
        rows = {"train": [], "val": [], "test": []}
        for label, (folder, count) in enumerate(COUNTS.items()):
            for n in range(1, count + 1):
                rows[coop_assignment(folder, n)].append([f"{folder}/{folder}_{n}.jpg", label, COOP_NAMES[folder]])
    path = base / "split_zhou_EuroSAT.json"
    path.write_text(json.dumps(rows, indent=4, separators=(",", ": ")))
    return path

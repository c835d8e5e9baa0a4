"""`aircraft`: FGVC-Aircraft 2013b variants as five-option multiple choice over the 100 variant names.

Release layout (fgvc-aircraft-2013b.tar.gz): `fgvc-aircraft-2013b/data/` holds `images/<id>.jpg` (7-digit ids
such as 1025794), `images_variant_{train,val,trainval,test}.txt` (lines "<id> <variant>", split at the first
space because names hold spaces: "Cessna 172") and `variants.txt` (one name a line; a class's index is its
line, as in torchvision's `FGVCAircraft` and LoRSU's class order). The root may be that `data/`, the
`fgvc-aircraft-2013b/` folder or a folder holding it; `--data-root DIR` reads DIR/fgvc-aircraft-2013b, else
LoRSU's DIR/fgvc_aircraft (which holds fgvc-aircraft-2013b/).

Every image ends in a 20-pixel banner carrying the photographer's copyright, to be cropped off before use, so
`load_image` cuts the bottom 20 rows (torchvision's loader and LoRSU's do not). Metrics: those of every
`ChoiceTask` (acc, acc_norm) and the benchmark's official mean per-class accuracy `mean_class_acc` (each variant
weighted equally; LoRSU's eval_aircraftvqa reports plain accuracy, an exact letter match of the generation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.base import ImageError, Item, open_rgb
from harness.tasks.choice_task import ChoiceTask, Record
from harness.tasks.choices import N_CHOICES
from harness.tasks.metrics import Metric, mean_class_accuracy
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, read_text, resolve_root, split_file

QUESTION = "What is the type of this aircraft?"  # LoRSU's FGVCAircraftVQA question
PROMPTS = PromptSet(version="1", templates=mc_templates())
SPLITS = ("test", "train", "val", "trainval")
RELEASE = "fgvc-aircraft-2013b"
LORSU_FOLDER = "fgvc_aircraft"  # LoRSU's `<dataroot>/fgvc_aircraft/fgvc-aircraft-2013b/`
BANNER_ROWS = 20
LAYOUT_HELP = (
    f"{RELEASE}/data/ with images/<id>.jpg, images_variant_<split>.txt ('<id> <variant>' lines) and variants.txt; "
    f"point at {RELEASE}/, at its data/ or at a folder holding {RELEASE}/"
)


class FgvcAircraft(ChoiceTask):
    name = "aircraft"
    prompts = PROMPTS
    question = QUESTION
    metric_names = (*ChoiceTask.metric_names, "mean_class_acc")

    def __init__(self, root: Path, split: str = "test", seed: int = 0):
        if split not in SPLITS:
            raise InvalidInput(f"aircraft: unknown split {split!r}; expected one of {SPLITS}")
        self.data = _find_data(Path(root))
        labels = read_variants(self.data / "variants.txt")
        where = self.data.relative_to(root).as_posix() if self.data != Path(root) else "."
        super().__init__(root, f"FGVC-Aircraft 2013b ({where}/images_variant_{split}.txt)", split, seed, labels)

    def _records(self) -> list[Record]:
        file = split_file("aircraft", self.data, f"images_variant_{self.split}.txt", LAYOUT_HELP)
        index = {name: i for i, name in enumerate(self.labels)}
        seen: dict[str, int] = {}
        out = []
        for n, line in enumerate(read_text(file).splitlines(), 1):
            text = line.strip()
            if not text:
                continue
            image_id, _, variant = text.partition(" ")
            variant = variant.strip()
            if not variant:
                raise DatasetFormatError(f"{file}:{n}: expected '<image id> <variant>', got {line!r}")
            if variant not in index:
                raise DatasetFormatError(f"{file}:{n}: variant {variant!r} is not in {self.data / 'variants.txt'}")
            if image_id in seen:
                raise DatasetFormatError(f"{file}:{n}: image {image_id} is already listed on line {seen[image_id]}")
            seen[image_id] = n
            out.append(
                Record(
                    id=image_id,
                    image=str(self.data / "images" / f"{image_id}.jpg"),
                    label=variant,
                    # row: the position in the split file (torchvision's index), the order LoRSU's few-shot
                    # draws run in; items themselves come in ChoiceTask's sha256 order
                    meta={"class_id": index[variant], "variant": variant, "row": len(out)},
                )
            )
        return out

    def load_image(self, item: Item) -> Image.Image:
        """The image without its bottom 20 rows (the copyright banner)."""
        image = open_rgb(Path(item.image))
        width, height = image.size
        if height <= BANNER_ROWS:
            raise ImageError(
                f"image {item.image} is {height} pixels tall: nothing is left once the release's "
                f"{BANNER_ROWS}-pixel copyright banner is cropped"
            )
        return image.crop((0, 0, width, height - BANNER_ROWS))

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        return {**super().metrics(samples), "mean_class_acc": mean_class_accuracy(samples, "variant")}


def _find_data(root: Path) -> Path:
    """The release's `data/` folder: `root` itself, `root/data`, `root/fgvc-aircraft-2013b/data`."""
    places = [root, root / "data", root / RELEASE / "data"]
    for place in places:
        if (place / "variants.txt").is_file() or any(place.glob("images_variant_*.txt")):
            return place
    raise DatasetNotFound(
        f"aircraft: no FGVC-Aircraft data under {root} (no variants.txt or images_variant_*.txt in "
        f"{', '.join(str(p) for p in places)}). Expected layout: {LAYOUT_HELP}"
    )


def read_variants(path: Path) -> tuple[str, ...]:
    """The variant names of `variants.txt` in file order (a class's index is its line, so no blank lines)."""
    if not path.is_file():
        raise DatasetNotFound(f"aircraft: {path} not found (the 100 variant names). Expected layout: {LAYOUT_HELP}")
    lines = [line.strip() for line in read_text(path).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    names: dict[str, int] = {}
    for n, name in enumerate(lines, 1):
        if not name:
            raise DatasetFormatError(f"{path}:{n}: blank line (a variant's index is its line)")
        if name in names:
            raise DatasetFormatError(f"{path}:{n}: variant {name!r} is already on line {names[name]}")
        names[name] = n
    if len(names) < N_CHOICES:
        raise DatasetFormatError(f"{path}: {len(names)} variant names; five-option questions need at least {N_CHOICES}")
    return tuple(names)


@register("aircraft")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> FgvcAircraft:
    """FGVC-Aircraft 2013b test (or train/val/trainval); 5-option MC over the 100 variants, banner cropped."""
    if path is None and data_root is not None and not (Path(data_root) / RELEASE).exists():
        if (Path(data_root) / LORSU_FOLDER).is_dir():
            path = Path(data_root) / LORSU_FOLDER
    root = resolve_root("aircraft", path, data_root, RELEASE, LAYOUT_HELP)
    return FgvcAircraft(root, split=split or "test", seed=seed).load()

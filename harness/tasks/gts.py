"""`gts`: GTSRB traffic signs as five-option multiple choice over the 43 CLIP class names.

Reads three release layouts (test split by default, `split="train"` also works):
- official INI: `GTSRB/Final_Test/Images/*.ppm` + `GT-final_test.csv` (from GTSRB_Final_Test_GT.zip, found
  beside GTSRB/, in GTSRB/, in Final_Test/ or in Images/); train `GTSRB/Final_Training/Images/000XX/GT-000XX.csv`;
- torchvision: `gtsrb/GTSRB/Final_Test/Images/*.ppm` + `gtsrb/GT-final_test.csv`; train
  `gtsrb/GTSRB/Training/000XX/*.ppm` (label = folder);
- Kaggle: `Test.csv` / `Train.csv` (comma-separated, `Path` relative to the root, `ClassId`).
CSV files are `;`-separated with CRLF endings (both accepted). Test ids are the image stem ("00000") in
every layout, so choice sets carry over between layouts; train ids are "000XX/<stem>".
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from harness.errors import InvalidInput
from harness.tasks.captions import GTSRB_CLASSNAMES
from harness.tasks.choice_task import ChoiceTask, Record
from harness.tasks.official_answers import by_pick, gtsrb_letter, gtsrb_letter_fixed
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import IMAGE_SUFFIXES, DatasetFormatError, DatasetNotFound, parse_int, read_csv, resolve_root

QUESTION = "What kind of traffic sign is this?"
PROMPTS = PromptSet(version="1", templates=mc_templates())
LAYOUT_HELP = (
    "official INI (GTSRB/Final_Test/Images/*.ppm + GT-final_test.csv), torchvision "
    "(gtsrb/GTSRB/Final_Test/Images + gtsrb/GT-final_test.csv) or Kaggle (Test.csv + Test/*.png)"
)
SPLITS = ("test", "train")


class Gtsrb(ChoiceTask):
    name = "gts"
    prompts = PROMPTS
    question = QUESTION
    metric_names = ("acc", "acc_norm", "acc_official", "acc_official_fixed")
    # LoRSU's eval_gtsrbvqa accepts more forms than its other letter tasks; its "X." search is flawed
    official_rules = {"acc_official": by_pick(gtsrb_letter), "acc_official_fixed": by_pick(gtsrb_letter_fixed)}

    def __init__(self, root: Path, split: str = "test", seed: int = 0):
        if split not in SPLITS:
            raise InvalidInput(f"gts: unknown split {split!r}; expected one of {SPLITS}")
        self._reader, layout = _detect(Path(root), split)
        super().__init__(root, layout, split, seed, GTSRB_CLASSNAMES)

    def _records(self) -> list[Record]:
        return self._reader()


def _detect(root: Path, split: str):
    """(a function reading the records, the layout name), trying `root` and `root/gtsrb`."""
    for base in (root, root / "gtsrb"):
        if not base.is_dir():
            continue
        if (base / ("Test.csv" if split == "test" else "Train.csv")).is_file():
            csv_path = base / ("Test.csv" if split == "test" else "Train.csv")
            return partial(_read_kaggle, base, csv_path, split), f"Kaggle ({csv_path.name})"
        gtsrb = base / "GTSRB" if (base / "GTSRB").is_dir() else base
        if split == "test" and (gtsrb / "Final_Test" / "Images").is_dir():
            images = gtsrb / "Final_Test" / "Images"
            gt = _find_test_gt(base, gtsrb, images)
            # the official GT zip unpacks beside GTSRB/, where torchvision also expects it
            kind = "official INI / torchvision" if gt.parent == base and gtsrb != base else "official INI"
            return partial(_read_test_csv, images, gt), f"{kind} ({images.relative_to(root)} + {gt.relative_to(root)})"
        if split == "train" and (gtsrb / "Final_Training" / "Images").is_dir():
            folder = gtsrb / "Final_Training" / "Images"
            return partial(_read_train_ini, folder), "official INI (Final_Training/Images/000XX/GT-000XX.csv)"
        if split == "train" and (gtsrb / "Training").is_dir():
            folder = gtsrb / "Training"
            return partial(_read_train_folders, folder), "torchvision (GTSRB/Training/000XX)"
    raise DatasetNotFound(f"gts: no GTSRB {split} split under {root}. Expected layout: {LAYOUT_HELP}")


def _find_test_gt(base: Path, gtsrb: Path, images: Path) -> Path:
    places = [base, gtsrb, gtsrb / "Final_Test", images]
    for p in places:
        if (p / "GT-final_test.csv").is_file():
            return p / "GT-final_test.csv"
    unlabeled = [p / "GT-final_test.test.csv" for p in places if (p / "GT-final_test.test.csv").is_file()]
    hint = f" ({unlabeled[0]} is the unlabeled variant without ClassId)" if unlabeled else ""
    raise DatasetNotFound(
        f"gts: test labels GT-final_test.csv not found in {', '.join(str(p) for p in places)}"
        f"{hint}; get it from GTSRB_Final_Test_GT.zip. Expected layout: {LAYOUT_HELP}"
    )


def _class_id(value: str, where: str) -> int:
    cid = parse_int(value, where, "ClassId")
    if not 0 <= cid < len(GTSRB_CLASSNAMES):
        raise DatasetFormatError(f"{where}: ClassId {cid} is outside 0..{len(GTSRB_CLASSNAMES) - 1}")
    return cid


def _record(item_id: str, image: Path, cid: int) -> Record:
    return Record(id=item_id, image=str(image), label=GTSRB_CLASSNAMES[cid], meta={"class_id": cid})


def _read_test_csv(images: Path, gt: Path) -> list[Record]:
    rows = read_csv(gt, ";", ("Filename", "ClassId"))
    return [
        _record(Path(r["Filename"]).stem, images / r["Filename"], _class_id(r["ClassId"], f"{gt}:{n}")) for n, r in rows
    ]


def _read_train_ini(folder: Path) -> list[Record]:
    out = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        gt = class_dir / f"GT-{class_dir.name}.csv"
        if not gt.is_file():
            raise DatasetNotFound(
                f"gts: {gt} not found; each Final_Training/Images/000XX folder holds its "
                f"GT-000XX.csv. Expected layout: {LAYOUT_HELP}"
            )
        for n, r in read_csv(gt, ";", ("Filename", "ClassId")):
            cid = _class_id(r["ClassId"], f"{gt}:{n}")
            out.append(_record(f"{cid:05d}/{Path(r['Filename']).stem}", class_dir / r["Filename"], cid))
    return out


def _read_train_folders(folder: Path) -> list[Record]:
    out = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit()):
        cid = _class_id(class_dir.name, str(class_dir))
        for img in sorted(class_dir.iterdir()):
            if img.suffix.lower() in IMAGE_SUFFIXES and not img.name.startswith("."):
                out.append(_record(f"{cid:05d}/{img.stem}", img, cid))
    return out


def _read_kaggle(base: Path, csv_path: Path, split: str) -> list[Record]:
    out = []
    for n, r in read_csv(csv_path, ",", ("ClassId", "Path")):
        cid = _class_id(r["ClassId"], f"{csv_path}:{n}")
        rel = Path(r["Path"].replace("\\", "/"))
        item_id = rel.stem if split == "test" else f"{cid:05d}/{rel.stem}"
        out.append(_record(item_id, base / rel, cid))
    return out


@register("gts")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> Gtsrb:
    """GTSRB test or train (official INI, torchvision or Kaggle layout); 5-option MC over the 43 CLIP names."""
    root = resolve_root("gts", path, data_root, "gtsrb", LAYOUT_HELP)
    return Gtsrb(root, split=split or "test", seed=seed).load()

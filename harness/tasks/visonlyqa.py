"""`visonlyqa`: VisOnlyQA (Kamoi et al. 2024, arXiv:2412.00947), multiple-choice questions on the geometry of
scientific figures; accuracy overall, per split (real / synthetic) and per category.

Layout: the Hugging Face dataset repositories as downloaded (`huggingface-cli download ryokamoi/VisOnlyQA_Eval_Real
--repo-type dataset --local-dir <root>/VisOnlyQA_Eval_Real`): `<root>/VisOnlyQA_Eval_Real/data/<category>-00000-of-
00001.parquet` (or `VisOnlyQA_Eval_Real_v1.1/`), `VisOnlyQA_Eval_Synthetic/data/`, `VisOnlyQA_Train/data/`; also
under `<root>/VisOnlyQA/` (LoRSU's folder). Each HF split is one category, written as `<split>-NNNNN-of-NNNNN.parquet`
shards; the category is taken from that name, since the rows' image_category/task_category do not always spell it
(the synthetic geometry rows say "geometry", the 3d__angle rows say task_category "size").
Splits: `all` (default: real then synthetic, LoRSU's Vis_Only_QA), `real`, `synthetic`, `train` (VisOnlyQA_Train, the
seven categories of LoRSU's continual sessions), or one category: `visonlyqa:real/geometry__triangle`,
`visonlyqa:train/3d__size`. Categories come in the release's order, rows in file order.
Items follow LoRSU's Vis_Only_QA: single_answer rows only (the multiple_answers rows, chemistry__shape_multi, whose
answers are sets such as "b,d", are left out and counted in `dropped`, as LoRSU leaves them out); choices are the
row's response_options, the answer the index of `answer` among them; the `question` column with the lettered options
and the letter instruction. Images are the rows' decoded_image bytes, decoded when an item is scored. Ids are
"<category>/<id>" ("#2", "#3", ... added to a repeated id within a category).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, accuracy_by
from harness.tasks.parquet_images import ParquetImages
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, resolve_root

# psunlpgroup/VisOnlyQA src/config.py: visonlyqa_real_splits, visonlyqa_synthetic_splits (= train_data_splits)
REAL = (
    "geometry__triangle", "geometry__quadrilateral", "geometry__length", "geometry__angle", "geometry__area",
    "geometry__diameter_radius", "chemistry__shape_single", "chemistry__shape_multi",
    "charts__extraction", "charts__intersection",
)  # fmt: skip
SYNTHETIC = (
    "syntheticgeometry__triangle", "syntheticgeometry__quadrilateral", "syntheticgeometry__length",
    "syntheticgeometry__angle", "syntheticgeometry__area", "3d__size", "3d__angle",
)  # fmt: skip
# LoRSU's continual sessions on VisOnlyQA_Train (VisOnlyTrain / Vis_Only_QAFT): sessions 0-3 one category each of
# its category_list, session 4 the last three together
LORSU_SESSIONS = (
    ("syntheticgeometry__triangle",), ("syntheticgeometry__quadrilateral",), ("syntheticgeometry__length",),
    ("syntheticgeometry__angle",), ("syntheticgeometry__area", "3d__size", "3d__angle"),
)  # fmt: skip
GROUP_DIRS = {
    "real": ("VisOnlyQA_Eval_Real", "VisOnlyQA_Eval_Real_v1.1"),  # LoRSU loads the first
    "synthetic": ("VisOnlyQA_Eval_Synthetic",),
    "train": ("VisOnlyQA_Train",),
}
ORDER = {"real": REAL, "synthetic": SYNTHETIC, "train": SYNTHETIC}
SPLITS = {"all": ("real", "synthetic"), "real": ("real",), "synthetic": ("synthetic",), "train": ("train",)}
REQUIRED = ("question", "answer", "response_options", "question_type", "id", "decoded_image")
TEXT_COLUMNS = ("question", "answer", "response_options", "question_type", "id", "source", "prompt_no_reasoning")
IMAGE_COLUMN = "decoded_image"
SINGLE = "single_answer"
MAX_OPTIONS = 5  # LoRSU scores the letters A-E
SHARD = re.compile(r"(?P<split>.+)-(?P<shard>\d{5})-of-\d{5}(?:-[0-9a-f]{16})?")
PROMPTS = PromptSet(version="1", templates=mc_templates())
LAYOUT_HELP = (
    "VisOnlyQA_Eval_Real/data/<category>-00000-of-00001.parquet, VisOnlyQA_Eval_Synthetic/data/..., "
    "VisOnlyQA_Train/data/... (the Hugging Face dataset repositories ryokamoi/VisOnlyQA_*, as downloaded)"
)


class VisOnlyQA(DatasetTask):
    name = "visonlyqa"
    prompts = PROMPTS

    def __init__(self, root: Path, split: str = "all", seed: int = 0):
        root = Path(root)
        groups, only = parse_split(split)
        self.files: list[tuple[str, str, list[Path]]] = []  # (group, category, shards)
        for group in groups:
            found = category_files(group, group_dir(root, group))
            if only is not None:
                if only not in found:
                    raise DatasetNotFound(
                        f"visonlyqa: no category {only!r} in {group_dir(root, group)} (present: {sorted(found)})"
                    )
                found = {only: found[only]}
            self.files += [(group, cat, shards) for cat, shards in found.items()]
        self._rows: dict[str, tuple[Path, int, str]] = {}  # item id -> (file, row index, where)
        self._images = ParquetImages(IMAGE_COLUMN)
        dirs = sorted({s[0].parent.relative_to(root).as_posix() for _, _, s in self.files})
        super().__init__(root, f"VisOnlyQA parquet ({', '.join(dirs)})", split, seed)

    def _build_items(self) -> list[Item]:
        items: list[Item] = []
        self._rows, seen, dropped = {}, Counter[str](), Counter[str]()
        for group, category, shards in self.files:
            first, position = len(items), 0  # position: the row in the category's whole split, every type counted
            for file in shards:
                for k, row in enumerate(read_rows(file)):
                    where = f"{file} row {k + 1} (id {row['id']!r})"
                    position += 1
                    if row["question_type"] != SINGLE:
                        dropped[str(row["question_type"])] += 1
                        continue
                    base = f"{category}/{_text(row['id'], where, 'id')}"
                    seen[base] += 1
                    item_id = base if seen[base] == 1 else f"{base}#{seen[base]}"
                    self._rows[item_id] = (file, k, where)
                    items.append(self._item(item_id, group, category, row, where))
                    items[-1].meta["row"] = position - 1
            for item in items[first:]:  # so a session draw permutes the whole split, as the released code does
                item.meta["category_size"] = position
        self.dropped = dict(sorted(dropped.items()))
        return items

    def _item(self, item_id: str, group: str, category: str, row: dict[str, Any], where: str) -> Item:
        options = row["response_options"]
        if (
            not isinstance(options, list)
            or not 2 <= len(options) <= MAX_OPTIONS
            or not all(isinstance(o, str) and o for o in options)
        ):
            raise DatasetFormatError(
                f"{where}: 'response_options' must be a list of 2 to {MAX_OPTIONS} strings, got {options!r}"
            )
        answer = row["answer"]
        if answer not in options:
            raise DatasetFormatError(f"{where}: 'answer' {answer!r} is not one of its response_options {options}")
        meta = {"split": group, "category": category, "source": str(row.get("source") or "")}
        if group == "train":  # LoRSU's training text (VisOnlyTrain / Vis_Only_QAFT)
            meta["prompt_no_reasoning"] = str(row.get("prompt_no_reasoning") or "")
        return Item(
            id=item_id,
            image=f"{self._rows[item_id][0]}#{self._rows[item_id][1]}",
            question=_text(row["question"], where, "question"),
            choices=tuple(options),
            answer=options.index(answer),
            meta=meta,
        )

    def load_image(self, item: Item) -> Image.Image:
        file, row, where = self._locate(item)
        return self._images.open_rgb(file, row, where)

    def image_exists(self, item: Item) -> bool:
        file, row, _ = self._locate(item)
        return self._images.exists(file, row)

    def where(self, item: Item) -> str:
        self.load()
        return self._rows[item.id][2] if item.id in self._rows else super().where(item)

    def _locate(self, item: Item) -> tuple[Path, int, str]:
        self.load()
        if item.id not in self._rows:
            raise InvalidInput(f"visonlyqa: item {item.id!r} is not in split {self.split!r}")
        return self._rows[item.id]

    def extract_answer(self, item: Item, generation: str) -> int:
        """LoRSU's eval_visonlyqa rule: the output stripped and upper-cased must be exactly one of the letters A-E
        ("b" counts, "B." or "B. 2" do not); a letter past the item's options counts as no answer."""
        letter = generation.strip().upper()
        index = "ABCDE".index(letter) if letter in ("A", "B", "C", "D", "E") else -1
        return index if index < len(item.choices) else -1

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Accuracy per split (real / synthetic / train) and per category (the HF split name)."""
        return {"split": accuracy_by(samples, "split"), "category": accuracy_by(samples, "category")}


def parse_split(spec: str) -> tuple[tuple[str, ...], str | None]:
    """'all' / 'real' / 'synthetic' / 'train' → its groups; 'real/geometry__triangle' → (('real',), category)."""
    head, _, category = spec.strip("/").partition("/")
    head = head.lower() or "all"
    if head not in SPLITS or (category and head == "all"):
        raise InvalidInput(
            f"visonlyqa: unknown split {spec!r}; expected one of {sorted(SPLITS)} or <real|synthetic|train>/<category>"
        )
    return SPLITS[head], category or None


def group_dir(root: Path, group: str) -> Path:
    """The first existing of the group's repository folders, under the root or under root/VisOnlyQA/."""
    cands = [base / d for base in (root, root / "VisOnlyQA") for d in GROUP_DIRS[group]]
    found = next((p for p in cands if p.is_dir()), None)
    if found is None:
        raise DatasetNotFound(
            f"visonlyqa: {cands[0]} not found (also looked for {', '.join(p.name for p in cands[1:2])} and under "
            f"{root / 'VisOnlyQA'}). Expected layout: {LAYOUT_HELP}"
        )
    return found


def category_files(group: str, folder: Path) -> dict[str, list[Path]]:
    """Category → its parquet shards in shard order, categories in the release's order (unknown ones after)."""
    data = folder / "data" if (folder / "data").is_dir() else folder
    shards: dict[str, list[tuple[int, Path]]] = {}
    for p in sorted(data.glob("*.parquet")):
        m = SHARD.fullmatch(p.stem)
        category, shard = (m["split"], int(m["shard"])) if m else (p.stem, 0)
        shards.setdefault(category, []).append((shard, p))
    if not shards:
        raise DatasetNotFound(f"visonlyqa: no .parquet files in {data}. Expected layout: {LAYOUT_HELP}")
    order = ORDER[group]
    rank = {c: (order.index(c) if c in order else len(order), c) for c in shards}
    return {c: [p for _, p in sorted(shards[c])] for c in sorted(shards, key=rank.__getitem__)}


def read_rows(file: Path) -> list[dict[str, Any]]:
    """The text columns of a parquet file as row dicts; a missing column or an unreadable file names the file."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(file)
        names = pf.schema_arrow.names
    except (OSError, ValueError) as e:  # pyarrow.ArrowInvalid is a ValueError
        raise DatasetFormatError(f"visonlyqa: {file}: not a readable parquet file ({e})") from e
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise DatasetFormatError(
            f"visonlyqa: {file}: no column {', '.join(map(repr, missing))} (columns: {names}). "
            f"Expected layout: {LAYOUT_HELP}"
        )
    return pf.read(columns=[c for c in TEXT_COLUMNS if c in names]).to_pylist()


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DatasetFormatError(f"{where}: {field!r} must be a non-empty string, got {value!r}")
    return value


@register("visonlyqa")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> VisOnlyQA:
    """VisOnlyQA Eval-Real + Eval-Synthetic parquet (or :real, :synthetic, :train, :<group>/<category>); accuracy."""
    root = resolve_root("visonlyqa", path, data_root, "visonlyqa", LAYOUT_HELP)
    if root.is_file():
        raise InvalidInput(
            f"visonlyqa: {root} is a file; give the folder holding the VisOnlyQA_* repositories "
            "(pick a category with --tasks visonlyqa:<group>/<category>)"
        )
    if any(root.name in dirs for dirs in GROUP_DIRS.values()):  # --data visonlyqa=.../VisOnlyQA_Eval_Real
        root = root.parent
    return VisOnlyQA(root, split=split or "all", seed=seed).load()

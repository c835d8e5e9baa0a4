"""`mmbench`: MMBench from its release TSV (base64 images, CircularEval rotations as rows); circular accuracy.

Layout: `<root>/MMBench_DEV_EN.tsv` (default; `mmbench:dev_cn` reads `MMBench_DEV_CN.tsv`, `--data mmbench=FILE.tsv`
any TSV) with the columns index, question, hint, A, B, C, D, answer, category, image, source, l2-category, comment,
split, read as VLMEvalKit reads them (pandas, tab-separated; empty or "NaN"-like cells are missing). The rows already
hold each question's circular rotations (index = k·1e6 + g_index), so options are taken as written, never rotated
again. An image cell of at most 64 characters names the row whose image it shares (VLMEvalKit's space saving).
Items come ordered by (g_index, index), so `--limit N` takes whole rotation groups; ids are the row's index.
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.base import ImageError, Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, mean_stderr, multiple_choice_metrics
from harness.tasks.prompts import MC_SUFFIX, PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, parse_int, resolve_root, split_file

ROUND = 1_000_000
OPTION_COLUMNS = ("A", "B", "C", "D")
REQUIRED = ("index", "question", "A", "B", "image")
DEFAULT_SPLIT = "dev_en"
ALIASES = {"dev": "dev_en", "test": "test_en"}
# LLaVA-1.5's model_vqa_mmbench --lang cn instruction
CN_SUFFIX = "请直接回答选项字母。"
PROMPTS = PromptSet(version="1", templates=mc_templates())
PROMPTS_CN = PromptSet(
    version="1",
    templates={
        f: {m: t.replace(MC_SUFFIX, CN_SUFFIX) for m, t in modes.items()} for f, modes in mc_templates().items()
    },
)
LAYOUT_HELP = (
    "MMBench_DEV_EN.tsv (or MMBench_<SPLIT>.tsv) with columns index, question, hint, A, B, C, D, answer, "
    "category, image (base64), source, l2-category, comment, split"
)


class MMBench(DatasetTask):
    name = "mmbench"
    prompts = PROMPTS
    metric_names = ("circular_acc", "acc", "acc_norm", "circular_acc_norm")

    def __init__(self, root: Path, split: str = DEFAULT_SPLIT, seed: int = 0, file: Path | None = None):
        root = Path(root)
        if file is None:
            split = ALIASES.get(split.lower(), split.lower())
            file = split_file("mmbench", root, f"MMBench_{split.upper()}.tsv", LAYOUT_HELP)
        else:
            split = Path(file).stem
        self.file = Path(file)
        if "_CN" in self.file.stem.upper():
            self.prompts = PROMPTS_CN
        self._rows: dict[str, int] = {}
        self._images: dict[str, str] = {}
        super().__init__(root, f"MMBench TSV ({self.file.name}, base64 images)", split, seed)

    def _build_items(self) -> list[Item]:
        frame = _read_tsv(self.file)
        rows = frame.to_dict("records")
        by_index: dict[str, str] = {}
        parsed = []
        for n, row in enumerate(rows, 1):
            where = f"{self.file} row {n}"
            index = parse_int(_cell(row.get("index")), where, "index")
            where = f"{where} (index {index})"
            if index < 0:
                raise DatasetFormatError(f"{where}: 'index' must not be negative")
            by_index[str(index)] = _cell(row.get("image"))
            parsed.append((n, index, where, row))
        self._rows, self._images = {}, {}
        items = []
        for n, index, where, row in sorted(parsed, key=lambda p: (p[1] % ROUND, p[1])):
            item_id = str(index)
            self._rows[item_id] = n
            self._images[item_id] = _resolve_image(by_index, item_id, where)
            items.append(self._item(item_id, index, row, where))
        return items

    def _item(self, item_id: str, index: int, row: dict[str, Any], where: str) -> Item:
        letters = [c for c in OPTION_COLUMNS if _cell(row.get(c))]
        if len(letters) < 2:
            raise DatasetFormatError(f"{where}: needs at least options A and B, got {letters}")
        question = _cell(row.get("question"))
        if not question:
            raise DatasetFormatError(f"{where}: empty 'question'")
        hint = _cell(row.get("hint"))
        answer_letter = _cell(row.get("answer")).upper()
        if answer_letter and answer_letter not in letters:
            raise DatasetFormatError(f"{where}: 'answer' {answer_letter!r} is not one of its options {letters}")
        return Item(
            id=item_id,
            image=f"{self.file}#{item_id}",
            # LLaVA-1.5's model_vqa_mmbench: the hint above the question, no "Hint:" label
            question=f"{hint}\n{question}" if hint else question,
            # options as the row gives them (missing letters closed up, as LLaVA lists the non-NaN ones)
            choices=tuple(_cell(row[c]) for c in letters),
            answer=letters.index(answer_letter) if answer_letter else -1,
            meta={
                "g_index": index % ROUND,
                "category": _cell(row.get("category")),
                "l2_category": _cell(row.get("l2-category")),
                "hint": hint,
            },
        )

    def load_image(self, item: Item) -> Image.Image:
        """Decode the row's base64 image (kept in memory, as VLMEvalKit does; nothing is written to disk)."""
        self.load()
        data = self._images.get(item.id, "")
        try:
            raw = base64.b64decode(data)
        except (binascii.Error, ValueError) as e:
            raise ImageError(f"{self.where(item)}: the 'image' cell is not valid base64 ({e})") from e
        try:
            with Image.open(io.BytesIO(raw)) as im:
                im.load()
                return im.convert("RGB")
        except Exception as e:  # PIL raises many types for corrupt data
            raise ImageError(f"{self.where(item)}: cannot read the base64 image: {type(e).__name__}: {e}") from e

    def image_exists(self, item: Item) -> bool:
        self.load()
        return bool(self._images.get(item.id))

    def where(self, item: Item) -> str:
        n = self._rows.get(item.id)
        return f"{self.file} row {n} (index {item.id})" if n else super().where(item)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        out = multiple_choice_metrics(samples)
        groups = circular_groups(samples)
        out["circular_acc"] = mean_stderr([float(all(s["pred"] == s["answer"] for s in g)) for g in groups.values()])
        if groups and all("pred_norm" in s for g in groups.values() for s in g):
            out["circular_acc_norm"] = mean_stderr(
                [float(all(s["pred_norm"] == s["answer"] for s in g)) for g in groups.values()]
            )
        return {k: out[k] for k in self.metric_names if k in out}

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Circular accuracy per l2-category and per category (VLMEvalKit's report_acc)."""
        out: dict[str, dict[str, Metric]] = {}
        groups = circular_groups(samples)
        for field in ("l2_category", "category"):
            hits: dict[str, list[float]] = {}
            for g in groups.values():
                hits.setdefault(g[0]["meta"][field], []).append(float(all(s["pred"] == s["answer"] for s in g)))
            out[field] = {k: mean_stderr(v) for k, v in sorted(hits.items())}
        return out


def circular_groups(samples: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Labelled samples by g_index (index mod 1e6), main row first; a group with an errored row is left out,
    since its circular verdict cannot be known."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for s in samples:
        if s.get("answer", -1) >= 0:
            groups.setdefault(s["meta"]["g_index"], []).append(s)
    return {
        g: sorted(rows, key=lambda s: int(s["id"]))
        for g, rows in sorted(groups.items())
        if all(s.get("error") is None for s in rows)
    }


def _cell(value: Any) -> str:
    """A cell as text; pandas' NaN (an empty or NA-spelled cell) becomes ""."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _resolve_image(by_index: dict[str, str], item_id: str, where: str) -> str:
    value = by_index[item_id]
    if len(value) > 64:
        return value
    if not value:
        raise DatasetFormatError(f"{where}: empty 'image' cell (expected base64 or the index of a row with one)")
    if len(by_index.get(value, "")) <= 64:
        raise DatasetFormatError(
            f"{where}: 'image' {value!r} is too short for base64 and names no row with an image "
            "(a short cell must be the index of the row whose image it shares)"
        )
    return by_index[value]


def _read_tsv(path: Path) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetFormatError(f"mmbench: {path}: not UTF-8 text (is it the TSV?)") from e
    except pd.errors.EmptyDataError as e:
        raise DatasetFormatError(f"mmbench: {path}: empty file. Expected layout: {LAYOUT_HELP}") from e
    except pd.errors.ParserError as e:
        raise DatasetFormatError(f"mmbench: {path}: not a readable TSV ({str(e).strip()})") from e
    frame.columns = ["l2-category" if str(c).lower() == "l2-category" else str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DatasetFormatError(
            f"mmbench: {path}: header {list(frame.columns)} lacks {missing}. Expected layout: {LAYOUT_HELP}"
        )
    return frame


@register("mmbench")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> MMBench:
    """MMBench dev-EN TSV (or `mmbench:dev_cn`, or a TSV file); lettered options, CircularEval accuracy."""
    root = resolve_root("mmbench", path, data_root, "mmbench", LAYOUT_HELP)
    if root.is_file():
        if split:
            raise InvalidInput(f"mmbench: give either a split ({split!r}) or a TSV file ({root}), not both")
        return MMBench(root.parent, seed=seed, file=root).load()
    return MMBench(root, split=split or DEFAULT_SPLIT, seed=seed).load()

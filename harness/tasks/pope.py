"""`pope`: POPE object-hallucination probes on COCO val2014 ("Is there a X in the image?", yes/no).
Reads the released JSON Lines files; records POPE's accuracy, precision, recall, F1 and yes-ratio, per split.

Layout (RUCAIBox/POPE): `coco_pope_{random,popular,adversarial}.json` — JSON Lines despite the extension,
{"question_id", "image", "text", "label": "yes"|"no"} — at the root, under `output/coco/` (the repository) or
`coco/` (LLaVA's playground), images flat in `val2014/` (or `images/`). The default reads all three splits
(one item per line, ids "<split>-<question_id>"); `--tasks pope:random` reads one. Counts depend on the POPE
commit: 3000 lines per split at HEAD 3df3ba1 (1500 yes / 1500 no, 500 images); LLaVA-1.5 used e3e39262, whose
random split has 2910 lines (8910 in all). `describe()` records the per-split counts.

Metrics follow POPE's evaluate.py (LLaVA's eval_pope.py), positive = yes. Where it would divide by zero
(it raises), precision (no "yes" predicted) and recall (no "yes" label) are NaN; F1 is 2PR/(P+R) when TP > 0,
0 when TP = 0 and some answer is wrong (the limit 2TP/(2TP+FP+FN)), NaN when there are no positives at all.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, mean_stderr, scored
from harness.tasks.prompts import MC_SUFFIX, VQA_TAG, PromptSet
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, parse_int, read_jsonl, resolve_root

# LLaVA-1.5's POPE prompt (its model_vqa_loader runs; lmms-eval's pope task)
_Q = "{question}\nAnswer the question using a single word or phrase."
_OPTIONS = "{question}\n{options}\n" + MC_SUFFIX
PROMPTS = PromptSet(
    version="1",
    templates={
        "llava": {"options": _OPTIONS, "text": _Q, "generate": _Q},
        "minigptv2": {"options": VQA_TAG + _OPTIONS, "text": VQA_TAG + _Q, "generate": VQA_TAG + _Q},
    },
    words={"llava": ("Yes", "No"), "minigptv2": ("yes", "no")},
)
CHOICES = ("yes", "no")
SPLITS = ("random", "popular", "adversarial")
METRICS = ("acc", "precision", "recall", "f1", "yes_ratio")
FILE_DIRS = (".", "output/coco", "coco")
IMAGE_DIRS = ("val2014", "images")
LAYOUT_HELP = (
    "coco_pope_{random,popular,adversarial}.json (JSON Lines: question_id, image, text, label) at the root, "
    "under output/coco/ or coco/, + val2014/COCO_val2014_XXXXXXXXXXXX.jpg (or images/)"
)


class Pope(DatasetTask):
    name = "pope"
    prompts = PROMPTS
    metric_names = METRICS

    def __init__(self, root: Path, splits: tuple[str, ...] = SPLITS, seed: int = 0):
        root = Path(root)
        unknown = [s for s in splits if s not in SPLITS]
        if unknown or not splits:
            raise InvalidInput(f"pope: unknown split {unknown or splits!r}; expected one of {SPLITS}")
        self.files: dict[str, Path] = {}
        for split in splits:
            cands = [root / d / f"coco_pope_{split}.json" for d in FILE_DIRS]
            found = next((p for p in cands if p.is_file()), None)
            if found is not None:
                self.files[split] = found
        missing = [s for s in splits if s not in self.files]
        if missing:
            names = ", ".join(f"coco_pope_{s}.json" for s in missing)
            hint = " (or pick a present split with --tasks pope:<split>)" if len(missing) < len(splits) else ""
            raise DatasetNotFound(
                f"pope: {names} not found under {root} (looked in {', '.join(d + '/' for d in FILE_DIRS)}){hint}. "
                f"Expected layout: {LAYOUT_HELP}"
            )
        images = next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), None)
        if images is None:
            raise DatasetNotFound(
                f"pope: no image folder under {root} (looked for {', '.join(d + '/' for d in IMAGE_DIRS)}). "
                f"Expected layout: {LAYOUT_HELP}"
            )
        self.images = images
        self.counts: dict[str, int] = {}
        rel = sorted({p.parent.relative_to(root).as_posix() for p in self.files.values()})
        layout = f"POPE release (coco_pope_*.json in {', '.join(r + '/' for r in rel)} + {images.name}/)"
        super().__init__(root, layout, "all" if tuple(splits) == SPLITS else "+".join(splits), seed)

    def _build_items(self) -> list[Item]:
        items = []
        for split, file in self.files.items():
            try:
                rows = read_jsonl(file)
            except DatasetFormatError as e:
                raise DatasetFormatError(f"{e} (POPE's .json files are JSON Lines: one object per line)") from e
            for n, row in rows:
                where = f"{file}:{n}"
                for key in ("question_id", "image", "text", "label"):
                    if key not in row:
                        raise DatasetFormatError(
                            f"{where}: missing {key!r} (expected keys question_id, image, text, label)"
                        )
                qid = parse_int(row["question_id"], where, "question_id")
                label = str(row["label"]).strip().lower()
                if label not in CHOICES:
                    raise DatasetFormatError(f'{where}: \'label\' must be "yes" or "no", got {row["label"]!r}')
                if not isinstance(row["image"], str) or not row["image"] or not isinstance(row["text"], str):
                    raise DatasetFormatError(f"{where}: 'image' and 'text' must be non-empty strings")
                items.append(
                    Item(
                        id=f"{split}-{qid}",
                        image=str(self.images / row["image"]),
                        question=row["text"].strip(),
                        choices=CHOICES,
                        answer=CHOICES.index(label),
                        meta={"category": split, "image": row["image"]},
                    )
                )
            self.counts[split] = sum(it.meta["category"] == split for it in items)
        return items

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "counts": dict(self.counts)}

    def extract_answer(self, item: Item, generation: str) -> int:
        return parse_pope(generation)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        return pope_metrics(scored(samples))

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """The five metrics per split: {"split_f1": {"random": Metric, ...}, "split_acc": ..., ...}."""
        by_split: dict[str, list[dict[str, Any]]] = {}
        for s in scored(samples):
            by_split.setdefault(s["meta"]["category"], []).append(s)
        per = {k: pope_metrics(v) for k, v in sorted(by_split.items(), key=lambda kv: _split_rank(kv[0]))}
        return {f"split_{m}": {k: ms[m] for k, ms in per.items()} for m in METRICS}


def parse_pope(text: str) -> int:
    """POPE's parser: the text before the first '.', commas deleted, split on spaces; "No", "not" or "no"
    among the words → no (1), anything else (empty or unparseable included) → yes (0). The text is stripped
    first, as LLaVA's answer files are."""
    text = text.strip().split(".")[0].replace(",", "")
    return 1 if any(w in ("No", "not", "no") for w in text.split(" ")) else 0


def pope_metrics(samples: list[dict[str, Any]]) -> dict[str, Metric]:
    """acc, precision, recall, f1, yes_ratio with positive = yes (answer index 0); see the module docstring
    for the zero-denominator cases. acc and yes_ratio carry the standard error of a mean."""
    said_yes = [s["pred"] == 0 for s in samples]
    is_yes = [s["answer"] == 0 for s in samples]
    tp = sum(p and y for p, y in zip(said_yes, is_yes))
    fp = sum(p and not y for p, y in zip(said_yes, is_yes))
    fn = sum(not p and y for p, y in zip(said_yes, is_yes))
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    if tp:
        f1 = 2 * precision * recall / (precision + recall)
    else:
        f1 = 0.0 if fp + fn else math.nan
    return {
        "acc": mean_stderr([float(s["pred"] == s["answer"]) for s in samples]),
        "precision": Metric(precision),
        "recall": Metric(recall),
        "f1": Metric(f1),
        "yes_ratio": mean_stderr([float(p) for p in said_yes]),
    }


def _split_rank(split: str) -> tuple[int, str]:
    return (SPLITS.index(split) if split in SPLITS else len(SPLITS), split)


def parse_splits(spec: str | None) -> tuple[str, ...]:
    """'' or None or 'all' → the three splits; 'random' → one; 'random+popular' → those two."""
    if not spec or spec == "all":
        return SPLITS
    return tuple(s.strip() for s in spec.split("+"))


@register("pope")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> Pope:
    """POPE COCO random+popular+adversarial (or `pope:random`); yes/no, acc, precision, recall, F1, yes-ratio."""
    root = resolve_root("pope", path, data_root, "pope", LAYOUT_HELP)
    if root.is_file():
        raise InvalidInput(f"pope: --data pope=PATH takes the POPE folder (holding {LAYOUT_HELP}), not a file: {root}")
    return Pope(root, parse_splits(split), seed=seed).load()

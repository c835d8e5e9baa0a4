"""`vsr`: Visual Spatial Reasoning, true/false per caption; accuracy and a per-relation breakdown.

Layout: `<root>/{random,zeroshot}/{train,dev,test}.jsonl` as released (also under `splits/` or
`data/splits/`), images flat in `<root>/images/<COCO file name>`, falling back to `<root>/train2017/`,
`<root>/val2017/` (the folder named in the row's `image_link`) or `<root>/trainval2017/`. The default split
is zeroshot/test (LoRSU's and MiniGPT-v2's); `--tasks vsr:random/test` (or `vsr:dev`, `vsr:random`) or
`--data vsr=PATH/random/test.jsonl` picks another.
Ids are "<image stem>-<8 hex of sha256(caption)>" (the rows have no id; image and caption are unique).
Generative runs add `acc_official` (LoRSU's rule: the label word anywhere in the answer) and
`acc_official_fixed` (one of the two words, as a word; `harness.tasks.official_answers`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.answers import extract_true_false
from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, accuracy_by, multiple_choice_metrics
from harness.tasks.official_answers import by_pick, official_metrics, true_false_fixed, true_false_substring
from harness.tasks.prompts import MC_SUFFIX, VQA_TAG, PromptSet
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, parse_int, read_jsonl, resolve_root

_Q = "Based on the image, is this statement true or false? {question}"
PROMPTS = PromptSet(
    version="1",
    templates={
        "llava": {"options": _Q + "\n{options}\n" + MC_SUFFIX, "text": _Q, "generate": _Q},
        "minigptv2": {
            "options": VQA_TAG + _Q + "\n{options}\n" + MC_SUFFIX,
            "text": VQA_TAG + _Q,
            "generate": VQA_TAG + _Q,
        },
    },
    # LLaVA-1.5 answers capitalised, MiniGPT-v2's VQA answers are lowercase
    words={"llava": ("True", "False"), "minigptv2": ("true", "false")},
)
CHOICES = ("true", "false")
VARIANTS = ("zeroshot", "random")
SPLIT_DIRS = (".", "splits", "data/splits")
IMAGE_DIRS = ("images", "data/images", "train2017", "val2017", "trainval2017")
LAYOUT_HELP = (
    "zeroshot/test.jsonl (or random/, under the root, splits/ or data/splits/) + images/<COCO "
    "file name> (or train2017/, val2017/, trainval2017/)"
)


class Vsr(DatasetTask):
    name = "vsr"
    prompts = PROMPTS
    metric_names = ("acc", "acc_norm", "acc_official", "acc_official_fixed")

    def __init__(
        self, root: Path, variant: str = "zeroshot", split: str = "test", seed: int = 0, file: Path | None = None
    ):
        root = Path(root)
        if file is None:
            if variant not in VARIANTS:
                raise InvalidInput(f"vsr: unknown variant {variant!r}; expected one of {VARIANTS}")
            cands = [root / d / variant / f"{split}.jsonl" for d in SPLIT_DIRS]
            file = next((p for p in cands if p.is_file()), None)
            if file is None:
                raise DatasetNotFound(
                    f"vsr: {cands[0]} not found (also looked in splits/ and data/splits/). "
                    f"Expected layout: {LAYOUT_HELP}"
                )
        self.file = Path(file)
        self.image_dirs = [root / d for d in IMAGE_DIRS if (root / d).is_dir()]
        if not self.image_dirs:
            raise DatasetNotFound(
                f"vsr: no image folder under {root} (looked for {', '.join(IMAGE_DIRS)}). "
                f"Expected layout: {LAYOUT_HELP}"
            )
        rel = self.file.relative_to(root) if self.file.is_relative_to(root) else self.file
        super().__init__(
            root,
            f"VSR release ({rel} + {', '.join(d.relative_to(root).as_posix() + '/' for d in self.image_dirs)})",
            f"{self.file.parent.name}/{self.file.stem}",
            seed,
        )

    def _build_items(self) -> list[Item]:
        items = []
        for n, row in read_jsonl(self.file):
            where = f"{self.file}:{n}"
            for key in ("image", "caption", "label", "relation"):
                if key not in row:
                    raise DatasetFormatError(f"{where}: missing {key!r}")
            label = _label(row["label"], where)
            digest = hashlib.sha256(row["caption"].encode("utf-8")).hexdigest()[:8]
            meta = {"relation": row["relation"], "label": label}
            meta.update({k: row[k] for k in ("subj", "obj") if k in row})
            items.append(
                Item(
                    id=f"{Path(row['image']).stem}-{digest}",
                    image=self._image(row),
                    question=row["caption"],
                    choices=CHOICES,
                    answer=0 if label == 1 else 1,
                    meta=meta,
                )
            )
        return items

    def _image(self, row: dict[str, Any]) -> str:
        """The first existing copy: flat images/, then the COCO folder named in image_link, then the others."""
        linked = Path(str(row.get("image_link") or "")).parent.name
        order = sorted(self.image_dirs, key=lambda d: (d.name != "images", d.name != linked))
        for d in order:
            if (d / row["image"]).is_file():
                return str(d / row["image"])
        return str(order[0] / row["image"])

    def extract_answer(self, item: Item, generation: str) -> int:
        return extract_true_false(generation)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        """acc (acc_norm); generative runs add LoRSU's substring rule and its fixed form (whole words, one of two)."""
        rules = {"acc_official": true_false_substring, "acc_official_fixed": by_pick(true_false_fixed)}
        return {**multiple_choice_metrics(samples), **official_metrics(samples, rules)}

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Accuracy per spatial relation."""
        return {"relation": accuracy_by(samples, "relation")}


def _label(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return int(value.strip().lower() == "true")
    label = int(value) if isinstance(value, bool) else parse_int(value, where, "label")
    if label not in (0, 1):
        raise DatasetFormatError(f"{where}: 'label' must be 1 (true) or 0 (false), got {value!r}")
    return label


def split_file_root(file: Path) -> Path:
    """The dataset root of a split file: <root>/[splits/]<variant>/<split>.jsonl (the repo's data/ is a root)."""
    root = file.parent.parent
    return root.parent if root.name == "splits" else root


@register("vsr")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> Vsr:
    """VSR zeroshot/test (or `vsr:random/test`, or a split .jsonl); true/false, accuracy per relation."""
    root = resolve_root("vsr", path, data_root, "vsr", LAYOUT_HELP)
    if root.is_file():
        if split:
            raise InvalidInput(f"vsr: give either a split ({split!r}) or a split file ({root}), not both")
        return Vsr(split_file_root(root), seed=seed, file=root).load()
    variant, name = parse_split(split or "")
    return Vsr(root, variant=variant, split=name, seed=seed).load()


def parse_split(spec: str) -> tuple[str, str]:
    """'random/test' → (random, test); 'dev' → (zeroshot, dev); 'random' → (random, test); '' → (zeroshot, test)."""
    variant, _, name = spec.strip("/").rpartition("/")
    if not variant and name in VARIANTS:
        variant, name = name, ""
    return variant or "zeroshot", name or "test"

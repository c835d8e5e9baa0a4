"""`hm`: Hateful Memes, "is this image hateful?" yes/no; accuracy and AUROC.

Layout: `<root>/<split>.jsonl` with rows {"id", "img", "label", "text"} and images at `<root>/<img>`
(`img` is relative to the root and is never rebuilt from `id`; `id` may be a string or an int; stray
fields are ignored; `label` may be missing in unlabeled test files). Splits: train, dev_seen,
dev_unseen, test_seen, test_unseen and the phase-1 names dev, test. The default is test_unseen (LoRSU's);
`--tasks hm:dev_seen` or `--data hm=ROOT/dev.jsonl` picks another.

AUROC (scikit-learn `roc_auc_score`) uses s = P(yes) / (P(yes) + P(no)) from the two options' summed
log-probabilities; it needs likelihood samples, so generative runs report accuracy only: `acc` (the first
yes/no word) and `acc_official` (LoRSU's exact "yes"/"no", `harness.tasks.official_answers.yes_no_exact`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.answers import extract_yes_no
from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, multiple_choice_metrics
from harness.tasks.official_answers import by_pick, official_metrics, yes_no_exact
from harness.tasks.prompts import MC_SUFFIX, PromptSet
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, parse_int, read_jsonl, resolve_root, split_file

_Q = "This is an image writting '{question}'. Is this image hateful? Answer yes or no. Answer:"
_OPTIONS = "This is an image writting '{question}'. Is this image hateful?\n{options}\n" + MC_SUFFIX
# the published prompt (typo "writting" included) has no [vqa] tag for MiniGPT-v2
PROMPTS = PromptSet(
    version="1",
    templates={f: {"options": _OPTIONS, "text": _Q, "generate": _Q} for f in ("llava", "minigptv2")},
    words={"llava": ("Yes", "No"), "minigptv2": ("yes", "no")},
)
CHOICES = ("yes", "no")
SPLITS = ("test_unseen", "test_seen", "dev_seen", "dev_unseen", "train", "dev", "test")
LAYOUT_HELP = (
    "<split>.jsonl (train, dev_seen, dev_unseen, test_seen, test_unseen, or phase-1 dev, test) with "
    '{"id", "img": "img/NNNNN.png", "label", "text"} + the img/ folder'
)


class HatefulMemes(DatasetTask):
    name = "hm"
    prompts = PROMPTS
    metric_names = ("acc", "acc_norm", "auroc", "acc_official")

    def __init__(self, root: Path, split: str = "test_unseen", seed: int = 0, file: Path | None = None):
        root = Path(root)
        if file is None:
            file = split_file("hm", root, f"{split}.jsonl", LAYOUT_HELP)
        self.file = Path(file)
        super().__init__(root, f"Hateful Memes release ({self.file.name} + img/)", self.file.stem, seed)

    def _build_items(self) -> list[Item]:
        items = []
        for n, row in read_jsonl(self.file):
            where = f"{self.file}:{n}"
            for key in ("id", "img", "text"):
                if key not in row:
                    raise DatasetFormatError(f"{where}: missing {key!r}")
            if isinstance(row["id"], bool) or not isinstance(row["id"], (int, str)) or row["id"] == "":
                raise DatasetFormatError(f"{where}: 'id' must be a string or an integer, got {row['id']!r}")
            item_id = str(row["id"])
            label = row.get("label")
            if label is not None:
                label = parse_int(label, where, "label")
                if label not in (0, 1):
                    raise DatasetFormatError(f"{where}: 'label' must be 0 or 1, got {row['label']!r}")
            img = str(row["img"]).replace("\\", "/")
            items.append(
                Item(
                    id=item_id,
                    image=str(self.root / img),
                    question=str(row["text"]),
                    choices=CHOICES,
                    answer=-1 if label is None else (0 if label == 1 else 1),
                    meta={"label": label},
                )
            )
        return items

    def extract_answer(self, item: Item, generation: str) -> int:
        return extract_yes_no(generation)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        out = multiple_choice_metrics(samples) | official_metrics(samples, {"acc_official": by_pick(yes_no_exact)})
        scored = [
            s for s in samples if s.get("error") is None and s["meta"].get("label") is not None and s.get("logprobs")
        ]
        if scored:
            out["auroc"] = Metric(auroc([s["meta"]["label"] for s in scored], [p_yes(s["logprobs"]) for s in scored]))
        return out


def p_yes(logprobs: list[float]) -> float:
    """P(yes) / (P(yes) + P(no)) from the options' log-probabilities (yes first), computed stably."""
    return 1.0 / (1.0 + math.exp(logprobs[1] - logprobs[0])) if logprobs[1] - logprobs[0] < 700 else 0.0


def auroc(labels: list[int], scores: list[float]) -> float:
    """scikit-learn's ROC AUC; NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


@register("hm")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> HatefulMemes:
    """Hateful Memes test_unseen (or `hm:dev_seen`, or a split .jsonl); yes/no, accuracy and AUROC."""
    root = resolve_root("hm", path, data_root, "hateful_memes", LAYOUT_HELP)
    if root.is_file():
        if split:
            raise InvalidInput(f"hm: give either a split ({split!r}) or a split file ({root}), not both")
        return HatefulMemes(root.parent, seed=seed, file=root).load()
    return HatefulMemes(root, split=split or "test_unseen", seed=seed).load()

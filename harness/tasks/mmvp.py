"""`mmvp`: MMVP ("Eyes Wide Shut?", Tong et al. 2024), 150 CLIP-blind pairs of two-option questions; accuracy and
the official pair accuracy (a pair counts only when both of its questions are right).

Layout (HF `MMVP/MMVP`, GitHub tsb0601/MMVP): `<root>/Questions.csv` with the columns Index, Question, Options
("(a) Open (b) Closed"), Correct Answer ("(a)" or "(b)"), and `<root>/MMVP Images/<Index>.jpg` (also
`MMVP-Images/`, LoRSU's name, and `MMVP Imgaes/`, the spelling of the official evaluate_mllm.py). A root holding
`MMVP/Questions.csv` (LoRSU's `dataroot`) works too. Index n and n+1 (n odd) form pair (n+1)/2; ids are the Index.

Splits: `test` (default) all 300; LoRSU tunes on half of the pairs and evaluates on the other half (its
vqa_datasets.py: MMVP_VQA_FT takes rows 4k and 4k+1 of the CSV, MMVP_VQA rows 4k+2 and 4k+3, pandas' iloc):
`lorsu_train` holds the pairs with an even 0-based pair number (Index 1–2, 5–6, …), `lorsu_test` the odd ones
(Index 3–4, 7–8, …). In the release Index is row + 1, so the halves are LoRSU's rows exactly.

Disputed labels: Index 99/100 (elephant tusks) and 279/280 (elderly person standing or sitting) have their two
labels swapped (tsb0601/MMVP issues #14 and #30, lmms-eval issue #1018; lmms-lab-eval/MMVP ships them swapped
back). The release's labels are kept by default, as LoRSU and the published numbers use them; the `corrected/`
prefix (`mmvp:corrected/test`, `mmvp:corrected/lorsu_test`) applies lmms-lab-eval's four corrections.

Generation (`--mode generate`): the prompt is LoRSU's (the question, the release's "(a) … (b) …" line, the letter
instruction). `pred` (`acc`, `pair_acc`) is the harness's parsing (`parse_choice`): the first "(a)"/"(b)" marker,
else a letter or an option's text as a whole word (`harness.tasks.answers.extract_letter`). `acc_official` and
`pair_acc_official` count the same generations by LoRSU's eval_mmvpvqa rule exactly (`official_choice`): any
"yes"/"Yes" means (a), else any "no"/"No" — a substring, so "not sure", "know" and "Snow" also mean (b) —, else
"(a)"/"(b)" in the text, else an answer under 3 characters read as "(<answer>)". `acc_official_fixed` and
`pair_acc_official_fixed` use that rule with whole words, case-insensitive (`official_choice_fixed`). As in every
metric here, the denominator is the scored items (LoRSU's is the split's length; its run has no unreadable image).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.answers import extract_letter
from harness.tasks.base import ImageError, Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, accuracy_by, mean_stderr, multiple_choice_metrics, scored
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, parse_int, read_csv, resolve_root

COLUMNS = ("Index", "Question", "Options", "Correct Answer")
IMAGE_DIRS = ("MMVP Images", "MMVP-Images", "MMVP Imgaes")
SPLITS = ("test", "lorsu_train", "lorsu_test")
LABELS = ("release", "corrected")
MARKERS = ("(a)", "(b)")
# lmms-lab-eval/MMVP's corrected labels (lmms-eval issue #1018, tsb0601/MMVP issue #30), by Index
CORRECTIONS = {99: "(b)", 100: "(a)", 279: "(b)", 280: "(a)"}
LAYOUT_HELP = (
    "Questions.csv (columns Index, Question, Options '(a) … (b) …', Correct Answer '(a)'|'(b)') + "
    "'MMVP Images/<Index>.jpg' (or MMVP-Images/)"
)
_OPTIONS = re.compile(r"^\(a\)\s*(.*?)\s*\(b\)\s*(.*?)$", re.IGNORECASE | re.DOTALL)
_MARK = re.compile(r"\(\s*([ab])\s*\)", re.IGNORECASE)
_WORDS = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class MmvpPrompts(PromptSet):
    """The multiple-choice templates; `generate` fills {options} with the release's "(a) … (b) …" cell (LoRSU's
    prompt, which its (a)/(b) scoring rule expects) instead of the lettered lines."""

    def render(self, item: Item, family: str, mode: str) -> str:
        if mode == "generate":
            return self.template(family, mode).format(question=item.question, options=item.meta["options"])
        return super().render(item, family, mode)


PROMPTS = MmvpPrompts(version="1", templates=mc_templates())


class Mmvp(DatasetTask):
    name = "mmvp"
    prompts = PROMPTS
    metric_names = (
        "acc",
        "pair_acc",
        "acc_norm",
        "pair_acc_norm",
        "acc_official",
        "pair_acc_official",
        "acc_official_fixed",
        "pair_acc_official_fixed",
    )

    def __init__(
        self, root: Path, split: str = "test", labels: str = "release", seed: int = 0, file: Path | None = None
    ):
        root = Path(root)
        if split not in SPLITS:
            raise InvalidInput(
                f"mmvp: unknown split {split!r}; expected one of {SPLITS} (optionally 'corrected/<split>')"
            )
        if labels not in LABELS:
            raise InvalidInput(f"mmvp: unknown labels {labels!r}; expected one of {LABELS}")
        if file is None and not (root / "Questions.csv").is_file() and (root / "MMVP" / "Questions.csv").is_file():
            root = root / "MMVP"
        self.file = Path(file) if file is not None else root / "Questions.csv"
        if not self.file.is_file():
            raise DatasetNotFound(f"mmvp: {self.file} not found. Expected layout: {LAYOUT_HELP}")
        images = next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), None)
        if images is None:
            raise DatasetNotFound(
                f"mmvp: no image folder under {root} (looked for {', '.join(IMAGE_DIRS)}). "
                f"Expected layout: {LAYOUT_HELP}"
            )
        self.images = images
        self.labels = labels
        self.label_changes: dict[str, list[str]] = {}
        self._lines: dict[str, int] = {}
        name = split if labels == "release" else f"corrected/{split}"
        super().__init__(root, f"MMVP release ({self.file.name} + {images.name}/)", name, seed)
        self.half = split

    def _build_items(self) -> list[Item]:
        items, self._lines, self.label_changes = [], {}, {}
        for n, row in read_csv(self.file, ",", COLUMNS):
            where = f"{self.file}:{n}"
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise DatasetFormatError(f"{where}: short row, lacks {missing} (expected the columns {list(COLUMNS)})")
            if not row["Question"]:
                raise DatasetFormatError(f"{where}: empty 'Question'")
            index = parse_int(row["Index"], where, "Index")
            if index < 1:
                raise DatasetFormatError(f"{where}: 'Index' must be 1 or more, got {index}")
            choices = parse_options(row["Options"], where)
            label = row["Correct Answer"].lower()
            if label not in MARKERS:
                raise DatasetFormatError(f"{where}: 'Correct Answer' must be (a) or (b), got {row['Correct Answer']!r}")
            if self.labels == "corrected" and CORRECTIONS.get(index, label) != label:
                self.label_changes[str(index)] = [label, CORRECTIONS[index]]
                label = CORRECTIONS[index]
            pair = (index + 1) // 2
            half = "lorsu_train" if (pair - 1) % 2 == 0 else "lorsu_test"
            if self.half != "test" and half != self.half:
                continue
            self._lines[str(index)] = n
            meta = {"index": index, "pair": pair, "lorsu_half": half, "options": row["Options"], "label": label}
            items.append(
                Item(
                    id=str(index),
                    image=str(self.images / f"{index}.jpg"),
                    question=row["Question"],
                    choices=choices,
                    answer=MARKERS.index(label),
                    meta=meta,
                )
            )
        return sorted(items, key=lambda it: it.meta["index"])

    def where(self, item: Item) -> str:
        n = self._lines.get(item.id)
        return f"{self.file}:{n} (Index {item.id})" if n else super().where(item)

    def load_image(self, item: Item) -> Image.Image:
        try:
            return super().load_image(item)
        except ImageError as e:
            raise ImageError(f"{self.where(item)}: {e}") from e

    def extract_answer(self, item: Item, generation: str) -> int:
        return parse_choice(generation, item.choices)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        out = multiple_choice_metrics(samples)
        out["pair_acc"] = pair_accuracy(samples, lambda s: s["pred"] == s["answer"])
        done = scored(samples)
        if done and "generation" in done[0]:
            for name, rule in (("official", official_choice), ("official_fixed", official_choice_fixed)):
                right = {s["id"]: rule(s["generation"] or "") == s["answer"] for s in done}
                out[f"acc_{name}"] = mean_stderr([float(right[s["id"]]) for s in done])
                out[f"pair_acc_{name}"] = pair_accuracy(samples, lambda s, right=right: right[s["id"]])
        elif done and "pred_norm" in done[0]:
            out["pair_acc_norm"] = pair_accuracy(samples, lambda s: s["pred_norm"] == s["answer"])
        return {k: out[k] for k in self.metric_names if k in out}

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Accuracy on LoRSU's two halves (lorsu_train, lorsu_test)."""
        return {"lorsu_half": accuracy_by(samples, "lorsu_half")}

    def describe(self) -> dict[str, Any]:
        sizes = Counter(it.meta["pair"] for it in self.items())
        return {
            **super().describe(),
            "pairs": sum(n == 2 for n in sizes.values()),
            "labels": self.labels,
            "label_changes": dict(self.label_changes),
            "disputed": "Index 99/100 and 279/280 (labels swapped; tsb0601/MMVP #14, #30; lmms-eval #1018)",
            "pair_rule": "pairs with both members scored; a pair with a missing or errored member is not counted",
            "generate": "pred: markers, letters, option texts as words; acc_official: LoRSU's eval_mmvpvqa rule",
        }


def parse_options(text: str, where: str) -> tuple[str, str]:
    """("Open", "Closed") from "(a) Open (b) Closed"; other layouts raise a located error."""
    m = _OPTIONS.match(text.strip())
    if not m or not m.group(1) or not m.group(2):
        raise DatasetFormatError(f"{where}: 'Options' must read '(a) <text> (b) <text>', got {text!r}")
    return m.group(1), m.group(2)


def official_choice(generation: str) -> int:
    """LoRSU's eval_mmvpvqa mapping of a generated answer to (a) → 0, (b) → 1, or -1 (counted wrong)."""
    answer = generation.strip()
    if "Yes" in answer or "yes" in answer:
        answer = "(a)"
    elif "No" in answer or "no" in answer:
        answer = "(b)"
    elif "(a)" in answer:
        answer = "(a)"
    elif "(b)" in answer:
        answer = "(b)"
    elif len(answer) < 3:
        answer = f"({answer.lower()})"
    # LoRSU counts `label in answer`: "b)" becomes "(b))", which holds "(b)"
    return next((i for i, m in enumerate(MARKERS) if m in answer), -1)


def official_choice_fixed(generation: str) -> int:
    """LoRSU's rule with whole words: "yes" (any case) → (a), else "no" → (b), else a marker, else a lone letter."""
    answer = generation.strip()
    words = _WORDS.findall(answer.lower())
    if "yes" in words:
        return 0
    if "no" in words:
        return 1
    m = _MARK.search(answer)
    if m:
        return "ab".index(m.group(1).lower())
    letter = answer.strip("().").lower()
    return "ab".index(letter) if len(answer) < 3 and letter in ("a", "b") else -1


def parse_choice(generation: str, choices: tuple[str, ...] | list[str]) -> int:
    """The first "(a)"/"(b)" marker (any case), else a letter or an option's text as a whole word; -1 if none."""
    m = _MARK.search(generation)
    if m:
        return "ab".index(m.group(1).lower())
    return extract_letter(generation, tuple(choices))


def pair_accuracy(samples: list[dict[str, Any]], right: Callable[[dict[str, Any]], bool]) -> Metric:
    """The share of pairs whose two questions are both right, over pairs with both members scored."""
    pairs: dict[int, list[dict[str, Any]]] = {}
    for s in samples:
        pairs.setdefault(s["meta"]["pair"], []).append(s)
    ok = scored(samples)
    ids = {id(s) for s in ok}
    hits = [float(all(right(s) for s in g)) for g in pairs.values() if len(g) == 2 and all(id(s) in ids for s in g)]
    return mean_stderr(hits)


def parse_split(spec: str) -> tuple[str, str]:
    """'corrected/lorsu_test' → (lorsu_test, corrected); 'lorsu_train' → (lorsu_train, release); '' → (test,
    release)."""
    labels, _, split = spec.strip("/").rpartition("/")
    if not labels and split in LABELS:
        labels, split = split, ""
    return split or "test", labels or "release"


@register("mmvp")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> Mmvp:
    """MMVP Questions.csv + MMVP Images/ (or `mmvp:lorsu_test`, `mmvp:corrected/test`); two options, acc, pair_acc."""
    root = resolve_root("mmvp", path, data_root, "mmvp", LAYOUT_HELP)
    name, labels = parse_split(split or "")
    if root.is_file():
        return Mmvp(root.parent, split=name, labels=labels, seed=seed, file=root).load()
    return Mmvp(root, split=name, labels=labels, seed=seed).load()

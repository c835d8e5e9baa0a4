"""`vizwiz`: VizWiz-VQA val, candidate answers ranked by likelihood, scored with VizWiz VQA accuracy.

Layout: `Annotations/<split>.json` (a JSON array of {image, question, answers: 10 × {answer,
answer_confidence}, answer_type, answerable}) and `<split>/VizWiz_<split>_XXXXXXXX.jpg`.

Candidates per question: its own distinct answers, "unanswerable", and the split's `n_frequent` most
frequent answers (ties alphabetical), shuffled by sha256(seed, id). The chosen candidate (or, in
generative mode, the generated text) is scored by `harness.tasks.vqa_accuracy`. `answer` is the index of the
candidate with the highest VQA accuracy; the metric does not use it.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from harness.tasks.answers import match_option_text
from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, mean_stderr
from harness.tasks.prompts import DERIVED, MC_SUFFIX, VQA_TAG, PromptSet
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, read_text, resolve_root, stable_hash
from harness.tasks.vqa_accuracy import normalize_answer, vqa_accuracy

UNANSWERABLE = "unanswerable"
N_FREQUENT = 5
_PUBLISHED = (
    "The question is '{question}'{dot} Based on the image, answer the question with a single word or "
    "phrase. and reply 'unanswerable' when the provided information is insufficient"
)
# LoRSU writes a period after the quoted question, MiniGPT-v2 does not
_LLAVA, _MINIGPT = _PUBLISHED.replace("{dot}", "."), VQA_TAG + _PUBLISHED.replace("{dot}", "")
# LLaVA-1.5's own VizWiz prompt (its evaluation scripts; lmms-eval's vizwiz_vqa), which LLaVA-NeXT and
# LLaVA-OneVision were evaluated with
_LLAVA15 = (
    "{question}\nWhen the provided information is insufficient, respond with 'Unanswerable'.\n"
    "Answer the question using a single word or phrase."
)
_NEXT = {"options": "{question}\n{options}\n" + MC_SUFFIX, "text": _LLAVA15, "generate": _LLAVA15}
PROMPTS = PromptSet(
    version="1",
    templates={
        "llava": {"options": "{question}\n{options}\n" + MC_SUFFIX, "text": _LLAVA, "generate": _LLAVA},
        "llava_next": _NEXT,
        "llava_onevision": _NEXT,
        # BLIP-2's and InstructBLIP's own VQA prompts (tasks.prompts.DERIVED), around the bare question
        "blip2": {
            "options": DERIVED["blip2"].wrap("{question}\n{options}\n" + MC_SUFFIX),
            "text": "Question: {question} Answer:",
            "generate": "Question: {question} Answer:",
        },
        "instructblip": {
            "options": DERIVED["instructblip"].wrap("{question}\n{options}\n" + MC_SUFFIX),
            "text": "Question: {question} Short answer:",
            "generate": "Question: {question} Short answer:",
        },
        "minigptv2": {
            "options": VQA_TAG + "{question}\n{options}\n" + MC_SUFFIX,
            "text": _MINIGPT,
            "generate": _MINIGPT,
        },
    },
)
LAYOUT_HELP = (
    "Annotations/<split>.json (JSON array of {image, question, answers[10]}) + <split>/VizWiz_<split>_XXXXXXXX.jpg"
)


class VizWiz(DatasetTask):
    name = "vizwiz"
    prompts = PROMPTS
    metric_names = ("vqa_acc", "vqa_acc_norm")

    def __init__(self, root: Path, split: str = "val", seed: int = 0, n_frequent: int = N_FREQUENT):
        root = Path(root)
        annotations = next(
            (p for p in (root / "Annotations" / f"{split}.json", root / f"{split}.json") if p.is_file()), None
        )
        if annotations is None:
            raise DatasetNotFound(
                f"vizwiz: {root / 'Annotations' / f'{split}.json'} not found. Expected layout: {LAYOUT_HELP}"
            )
        self.annotations: Path = annotations
        self.images = root / split
        if not self.images.is_dir():
            raise DatasetNotFound(f"vizwiz: image folder {self.images} not found. Expected layout: {LAYOUT_HELP}")
        self.n_frequent = n_frequent
        super().__init__(root, f"VizWiz release ({self.annotations.relative_to(root)} + {split}/)", split, seed)

    def _build_items(self) -> list[Item]:
        records = _read_annotations(self.annotations)
        counts = Counter(a.strip() for r in records for a in r["answers"] if a.strip())
        frequent = [a for a, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        items = []
        for r in sorted(records, key=lambda r: r["image"]):
            item_id = Path(r["image"]).stem
            cands = list(dict.fromkeys(a.strip() for a in r["answers"] if a.strip()))
            cands += [] if UNANSWERABLE in cands else [UNANSWERABLE]
            cands += [a for a in frequent if a not in cands][: self.n_frequent]
            random.Random(stable_hash("vizwiz", self.seed, item_id)).shuffle(cands)
            if r["answers"]:
                scores = [vqa_accuracy(c, r["answers"]) for c in cands]
                answer = scores.index(max(scores))
            else:
                answer = -1
            meta = {
                "answers": r["answers"],
                "answer_type": r.get("answer_type"),
                "answerable": r.get("answerable"),
                "choices": cands,
            }
            items.append(
                Item(
                    id=item_id,
                    image=str(self.images / r["image"]),
                    question=r["question"],
                    choices=tuple(cands),
                    answer=answer,
                    meta=meta,
                )
            )
        return items

    def extract_answer(self, item: Item, generation: str) -> int:
        """The candidate the generation equals after normalisation (else -1); scoring uses the text itself."""
        norm = normalize_answer(generation)
        hits = [i for i, c in enumerate(item.choices) if normalize_answer(c) == norm]
        return hits[0] if hits else match_option_text(generation, item.choices)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        scored = [s for s in samples if s.get("error") is None and s["meta"].get("answers")]
        out = {"vqa_acc": mean_stderr([_score(s, "pred") for s in scored])}
        if scored and "pred_norm" in scored[0] and "generation" not in scored[0]:
            out["vqa_acc_norm"] = mean_stderr([_score(s, "pred_norm") for s in scored])
        return out

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """VQA accuracy per answer_type (other, yes/no, number, unanswerable), as the official API reports."""
        groups: dict[str, list[float]] = {}
        for s in samples:
            if s.get("error") is None and s["meta"].get("answers"):
                groups.setdefault(str(s["meta"].get("answer_type")), []).append(_score(s, "pred"))
        return {"answer_type": {k: mean_stderr(v) for k, v in sorted(groups.items())}}


def _score(sample: dict[str, Any], key: str) -> float:
    """VQA accuracy of the generated text, or of the chosen candidate."""
    if "generation" in sample:
        text = sample["generation"] or ""
    else:
        choices, idx = sample["meta"]["choices"], sample[key]
        text = choices[idx] if 0 <= idx < len(choices) else ""
    return vqa_accuracy(text, sample["meta"]["answers"])


def _read_annotations(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    if not isinstance(data, list):
        raise DatasetFormatError(f"{path}: expected a JSON array of question records, got {type(data).__name__}")
    out = []
    for i, r in enumerate(data):
        if not isinstance(r, dict) or not isinstance(r.get("image"), str) or not isinstance(r.get("question"), str):
            raise DatasetFormatError(f"{path}: record {i} lacks 'image' or 'question' strings")
        answers = r.get("answers") or []
        if not isinstance(answers, list) or not all(
            isinstance(a, dict) and isinstance(a.get("answer"), str) for a in answers
        ):
            raise DatasetFormatError(
                f"{path}: record {i} ({r['image']}): 'answers' must be a list of {{answer, answer_confidence}} objects"
            )
        # ground-truth answers stay raw: the official metric compares them unnormalised
        out.append({**r, "answers": [a["answer"] for a in answers]})
    return out


@register("vizwiz")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> VizWiz:
    """VizWiz-VQA val (Annotations/val.json + val/); likelihood over candidate answers, VQA accuracy."""
    root = resolve_root("vizwiz", path, data_root, "vizwiz", LAYOUT_HELP)
    return VizWiz(root, split=split or "val", seed=seed).load()

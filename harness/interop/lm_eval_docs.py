"""Our six tasks as lm-eval documents: `custom_dataset` readers, `doc_to_image` and `process_results` hooks
for the YAMLs in `lm_eval_tasks/`.

Each reader builds the harness task from its release layout under the data root (`data_root` in lm-eval's
`--metadata`, else `$HARNESS_DATA_ROOT`) and renders every item with the harness prompt for the VLM family
(`vlm` from model_args, which lm-eval merges into the task metadata) and `prompt_style`, so a document's
`instruction` and `choices` are exactly what `harness eval` scores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InputNotFound
from harness.tasks.base import open_rgb
from harness.tasks.hateful_memes import auroc, p_yes
from harness.tasks.metrics import argmax_first
from harness.tasks.registry import build_task
from harness.tasks.vqa_accuracy import vqa_accuracy

ENV_ROOT = "HARNESS_DATA_ROOT"


def docs(task: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """{"test": datasets.Dataset} of one harness task's items, rendered for lm-eval."""
    import datasets

    root = metadata.get("data_root") or os.environ.get(ENV_ROOT)
    if not root:
        raise InputNotFound(
            f'harness_{task}: no data root; set ${ENV_ROOT} or pass --metadata \'{{"data_root": "DIR"}}\''
        )
    if not Path(root).is_dir():
        raise InputNotFound(f"harness_{task}: data root {root}: no such directory")
    family = str(metadata.get("vlm") or "llava")
    style = str(metadata.get("prompt_style") or "options")
    built = build_task(task, data_root=Path(root), seed=int(metadata.get("seed") or 0))
    rows = []
    for it in built.items():
        prompt = built.prompt(it, family, style)
        rows.append(
            {
                "id": it.id,
                "image": it.image,
                "instruction": prompt.instruction,
                "choices": list(prompt.continuations),
                "answer": it.answer,
                "meta": json.dumps(it.meta, sort_keys=True, default=str),
                "harness_render": f"{family}/{style}",  # the model refuses documents rendered for another
            }
        )
    return {"test": datasets.Dataset.from_list(rows)}


def tsi(**metadata: Any) -> dict[str, Any]:
    return docs("tsi", metadata)


def gts(**metadata: Any) -> dict[str, Any]:
    return docs("gts", metadata)


def dalle(**metadata: Any) -> dict[str, Any]:
    return docs("dalle", metadata)


def vizwiz(**metadata: Any) -> dict[str, Any]:
    return docs("vizwiz", metadata)


def vsr(**metadata: Any) -> dict[str, Any]:
    return docs("vsr", metadata)


def hm(**metadata: Any) -> dict[str, Any]:
    return docs("hm", metadata)


def doc_to_image(doc: dict[str, Any]) -> list[Image.Image]:
    return [open_rgb(Path(doc["image"]))]


def _preds(doc: dict[str, Any], results: list[tuple[float, bool]]) -> tuple[list[float], int, int]:
    lls = [float(r[0]) for r in results]
    norm = [ll / max(len(c), 1) for ll, c in zip(lls, doc["choices"])]  # lm-eval's acc_norm: characters
    return lls, argmax_first(lls), argmax_first(norm)


def vizwiz_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    """VQA accuracy (official formula, the 10 answers) of the chosen candidate, by sum and by length."""
    meta = json.loads(doc["meta"])
    _, pred, pred_norm = _preds(doc, results)
    cands, answers = meta["choices"], meta["answers"]
    return {
        "vqa_acc": vqa_accuracy(cands[pred], answers),
        "vqa_acc_norm": vqa_accuracy(cands[pred_norm], answers),
    }


def hm_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, Any]:
    """acc, acc_norm and the (label, P(yes)) pair AUROC aggregates over."""
    lls, pred, pred_norm = _preds(doc, results)
    label = json.loads(doc["meta"]).get("label")
    return {
        "acc": float(pred == doc["answer"]),
        "acc_norm": float(pred_norm == doc["answer"]),
        "auroc": (label, p_yes(lls)),
    }


def auroc_agg(pairs: list[tuple[int, float]]) -> float:
    """scikit-learn's ROC AUC over (label, P(yes)) pairs; the harness's HM metric."""
    labeled = [(lab, p) for lab, p in pairs if lab is not None]
    return auroc([lab for lab, _ in labeled], [p for _, p in labeled])

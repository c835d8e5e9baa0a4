"""Run records written directly in the runner's schema (harness.eval.runner / harness.eval.scoring), with per-item
outcomes the test controls."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.jsonio import dumps
from harness.tasks.hateful_memes import auroc, p_yes
from harness.tasks.metrics import mean_stderr, multiple_choice_metrics
from harness.tasks.vqa_accuracy import vqa_accuracy

LETTERS = "ABCDEFGH"


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def mc_samples(
    task: str,
    correct: Sequence[bool],
    n_choices: int = 4,
    ids: Sequence[str] | None = None,
    correct_norm: Sequence[bool] | None = None,
    prompt: str = "question",
) -> list[dict[str, Any]]:
    """Multiple-choice samples: item i has answer i % n_choices; a wrong item predicts the next option."""
    out = []
    for i, ok in enumerate(correct):
        answer = i % n_choices
        pred = answer if ok else (answer + 1) % n_choices
        ok_norm = ok if correct_norm is None else correct_norm[i]
        lps = [-5.0] * n_choices
        lps[pred] = -1.0
        out.append(
            {
                "task": task,
                "id": ids[i] if ids else f"{task}-{i:04d}",
                "prompt": f"USER: <image>\n{prompt} {i}\nASSISTANT:",
                "choices": [f"option {k}" for k in range(n_choices)],
                "continuations": [" " + LETTERS[k] for k in range(n_choices)],
                "answer": answer,
                "meta": {},
                "error": None,
                "logprobs": lps,
                "n_tokens": [1] * n_choices,
                "n_chars": [2] * n_choices,
                "is_greedy": [k == pred for k in range(n_choices)],
                "pred": pred,
                "pred_norm": answer if ok_norm else (answer + 1) % n_choices,
                "correct": ok,
            }
        )
    return out


def hm_samples(labels: Sequence[int], yes_probs: Sequence[float]) -> list[dict[str, Any]]:
    """Hateful Memes samples: options (yes, no); answer 0 for hateful (label 1)."""
    out = []
    for i, (y, p) in enumerate(zip(labels, yes_probs)):
        lps = [math.log(p), math.log(1 - p)]
        pred = 0 if lps[0] >= lps[1] else 1
        answer = 0 if y == 1 else 1
        out.append(
            {
                "task": "hm",
                "id": str(1000 + i),
                "prompt": f"USER: <image>\nmeme {i}\nASSISTANT:",
                "choices": ["yes", "no"],
                "continuations": [" Yes", " No"],
                "answer": answer,
                "meta": {"label": y},
                "error": None,
                "logprobs": lps,
                "n_tokens": [1, 1],
                "n_chars": [4, 3],
                "is_greedy": [pred == 0, pred == 1],
                "pred": pred,
                "pred_norm": pred,
                "correct": pred == answer,
            }
        )
    return out


def vizwiz_samples(
    answers: Sequence[Sequence[str]], choices: Sequence[Sequence[str]], preds: Sequence[int]
) -> list[dict[str, Any]]:
    """VizWiz samples: 10 human answers per item, candidate choices, the chosen candidate's index."""
    out = []
    for i, (ans, ch, pred) in enumerate(zip(answers, choices, preds)):
        out.append(
            {
                "task": "vizwiz",
                "id": f"VizWiz_val_{i:08d}.jpg",
                "prompt": f"q{i}",
                "choices": list(ch),
                "continuations": [" " + LETTERS[k] for k in range(len(ch))],
                "answer": 0,
                "meta": {"answers": list(ans), "choices": list(ch)},
                "error": None,
                "logprobs": [-1.0 if k == pred else -3.0 for k in range(len(ch))],
                "pred": pred,
                "pred_norm": pred,
            }
        )
    return out


def clip_samples(task: str, top1: Sequence[bool], top5: Sequence[bool]) -> list[dict[str, Any]]:
    return [
        {
            "task": task,
            "id": f"{task}-{i}",
            "prompt": "",
            "choices": [],
            "answer": 0,
            "meta": {},
            "error": None,
            "top1": float(a),
            "top5": float(b),
        }
        for i, (a, b) in enumerate(zip(top1, top5))
    ]


def _metrics(key: str, samples: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    task = key.partition(":")[0]
    if samples and "top1" in samples[0]:
        return {m: vars(mean_stderr([s[m] for s in samples])) for m in ("top1", "top5")}
    if task == "vizwiz":
        return {
            "vqa_acc": vars(
                mean_stderr([vqa_accuracy(s["meta"]["choices"][s["pred"]], s["meta"]["answers"]) for s in samples])
            )
        }
    out = {k: vars(m) for k, m in multiple_choice_metrics(samples).items()}
    if task == "hm":
        out["auroc"] = {
            "value": auroc([s["meta"]["label"] for s in samples], [p_yes(s["logprobs"]) for s in samples]),
            "stderr": None,
        }
    return out


def write_run(
    root: Path,
    name: str,
    tasks: dict[str, list[dict[str, Any]]],
    *,
    vlm: str = "llava",
    label: str | None = None,
    encoder: str | None = None,
    limit: int | None = None,
    prompt_style: str = "options",
    seed: int = 0,
    versions: dict[str, str] | None = None,
    drop_metrics: dict[str, list[str]] | None = None,
    write_samples: bool = True,
    mode: str = "likelihood",
) -> Path:
    """Write results.json (+ samples.jsonl) for a run as harness.eval.runner would; returns the run directory."""
    run = Path(root) / name
    run.mkdir(parents=True, exist_ok=True)
    label = label or (Path(encoder).stem if encoder else "zero-shot")
    task_results = {}
    for task, samples in tasks.items():
        metrics = _metrics(task, samples)
        for m in (drop_metrics or {}).get(task, []):
            metrics.pop(m, None)
        version = (versions or {}).get(task, "1.p1")
        task_results[task] = {
            "name": task.partition(":")[0],
            "version": version,
            "spec": task,
            "breakdown": {},
            "n": len(samples),
            "n_errors": 0,
            "metrics": metrics,
            "describe": {
                "name": task,
                "version": version,
                "prompt_version": version.rpartition("p")[2],
                "split": "test",
            },
            "item_set_sha256": _digest([[s["id"], s["choices"], s["answer"]] for s in samples]),
            "seconds": 0.1,
        }
    results = {
        "schema_version": 1,
        "run_id": f"{vlm}-{label}-{_digest(name)[:10]}",
        "label": label,
        "config": {
            "tasks": list(tasks),
            "vlm": vlm,
            "model": f"{vlm}-model",
            "encoder": encoder,
            "limit": limit,
            "prompt_style": prompt_style,
            "seed": seed,
            "batch_size": 8,
            "mode": mode,
        },
        "model": {
            "vlm": vlm,
            "model": f"{vlm}-model",
            "weights_sha256": "w" * 64,
            "prompt_template": "USER: <image>\n{instruction}\nASSISTANT:",
            "dtype": "float32",
        },
        "encoder": {"path": encoder, "sha256": _digest(encoder), "swap_report": {}} if encoder else None,
        "tasks": task_results,
        "timing": {"wall_seconds": 1.0, "items_scored_this_invocation": 1, "items_per_second": 1.0},
        "environment": {},
        "finished": "2025-01-01T00:00:00+0000",
    }
    (run / "results.json").write_text(dumps(results, indent=2))
    if write_samples:
        (run / "samples.jsonl").write_text("".join(dumps(s) + "\n" for t in tasks.values() for s in t))
    return run


def pattern(n: int, n_correct: int, offset: int = 0) -> list[bool]:
    """n outcomes with exactly n_correct right, spread deterministically (rotated by offset)."""
    base = [(i * n_correct) // n != ((i + 1) * n_correct) // n for i in range(n)]
    return base[offset % n :] + base[: offset % n]

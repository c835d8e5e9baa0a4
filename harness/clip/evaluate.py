"""`harness eval --vlm clip`: CLIP zero-shot classification with an optional updated vision encoder.

Each task gives class names and templates (ImageNet: CLIP's 1000 names and 80 templates; GTSRB: the 3
CLIP templates; actions: "a photo of a person {}"; other tasks: their items' captions). Text embeddings
are averaged over templates (`harness.clip.zeroshot`); top-1 / top-5 go into the same records as VQA runs.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import torch
from tqdm import tqdm

from harness.adapters.base import resolve_device
from harness.clip.data import from_task
from harness.clip.loading import load_clip
from harness.clip.zeroshot import zero_shot_classify
from harness.errors import InvalidInput
from harness.eval.config import EvalConfig
from harness.eval.plan import Plan
from harness.eval.run import digest, open_run, run_label, take, write_results
from harness.tasks.base import ImageError, Task
from harness.tasks.metrics import mean_stderr


def class_space(task: Task) -> tuple[list[str], tuple[str, ...], dict[str, int]]:
    """(class names, templates, item id → class index) for a task."""
    if hasattr(task, "class_names"):
        return task.class_names(), task.templates(), {it.id: it.answer for it in task.items()}
    data = from_task(task)
    return list(data.class_names), tuple(data.templates), dict(zip(data.ids or [], data.labels))


def swap_clip_encoder(model: Any, path: str) -> dict[str, Any]:
    """Replace the CLIP's vision tower (and image projection, when the checkpoint has one)."""
    from harness.adapters.checkpoints import read_checkpoint, swap_encoder

    if model.family == "open_clip":
        raw = read_checkpoint(path)
        # a whole model's state dict keeps its tower under `visual.`; a bare `model.visual.state_dict()` (the LoRSU
        # release layout, a tune export) is all tower, its own `transformer.*` blocks included
        prefixed = any(k.startswith("visual.") for k in raw.tensors)
        sd = {k.removeprefix("visual."): v for k, v in raw.tensors.items() if k.startswith("visual.") or not prefixed}
        model.load_release_state_dict(sd)
        return {"path": path, "sha256": raw.sha256, "format": "open_clip visual (strict)", "tensors": len(sd)}
    report = swap_encoder(model.visual, path).to_dict()
    tensors = read_checkpoint(path).tensors
    # open_clip keeps the projection as `proj` [width, embed] (x @ proj); HF as a Linear weight [embed, width]
    proj = next(
        (tensors[k].t() for k in ("proj", "visual.proj") if k in tensors), tensors.get("visual_projection.weight")
    )
    if proj is not None:
        weight = model.net.visual_projection.weight
        if proj.shape != weight.shape:
            raise InvalidInput(f"{path}: image projection {tuple(proj.shape)} does not fit {tuple(weight.shape)}")
        with torch.no_grad():
            weight.copy_(proj.to(weight.dtype))
        report["notes"] = report.get("notes", []) + ["image projection replaced"]
    return report


def evaluate_clip(cfg: EvalConfig, plan: Plan, progress: bool = True) -> dict[str, Any]:
    """`--vlm clip`: top-1/top-5 zero-shot classification, with the records, resume and fingerprint rules
    of every other family."""
    started = time.perf_counter()
    if not cfg.model:
        raise InvalidInput("--vlm clip needs --model: an HF CLIPModel directory/hub id or an open_clip model")
    device = str(resolve_device(cfg.device))
    model = load_clip(cfg.model, device=device)
    swap = swap_clip_encoder(model, cfg.encoder) if cfg.encoder else None
    tasks = plan.tasks
    label = run_label(cfg)
    model_info = {
        "vlm": "clip",
        "model": cfg.model,
        "family": model.family,
        "device": device,
        "dtype": "float32",
        "prompt_template": None,
    }
    fingerprint = {
        "vlm": "clip",
        "model": cfg.model,
        "encoder_sha256": swap["sha256"] if swap else None,
        "tasks": {k: t.version for k, t in tasks.items()},
        "seed": cfg.seed,
        "device": device,
    }
    run, run_id, done = open_run(cfg, fingerprint, label)
    results, scored = {}, 0
    for key, task in tasks.items():
        t0 = time.perf_counter()
        names, templates, labels = class_space(task)
        items = take(task.items(), cfg.limit)
        todo = [it for it in items if done.get((key, it.id), {"error": "new"})["error"] is not None]
        bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=key, unit="image", disable=not progress)
        step = 64 if isinstance(cfg.batch_size, str) else max(int(cfg.batch_size), 1)
        for i in range(0, len(todo), step):
            batch, images, samples = todo[i : i + step], [], []
            for it in batch:
                base = {
                    "task": key,
                    "id": it.id,
                    "prompt": None,
                    "choices": [],
                    "answer": labels.get(it.id, -1),
                    "meta": it.meta,
                    "error": None,
                }
                try:
                    images.append(task.load_image(it))
                    samples.append(base)
                except ImageError as e:
                    failed = {**base, "error": str(e)}
                    run.append([failed])
                    done[(key, it.id)] = failed
            if images:
                res = zero_shot_classify(model, images, names, templates, top_k=(1, 5))
                for s, top in zip(samples, res.topk.tolist()):
                    s.update(pred=top[0], top5=top[:5], correct=top[0] == s["answer"])
                run.append(samples)
                done.update({(s["task"], s["id"]): s for s in samples})
            bar.update(len(batch))
        bar.close()
        scored += len(todo)
        recs = [done[(key, it.id)] for it in items]
        ok = [s for s in recs if s["error"] is None]
        results[key] = {
            "name": task.name,
            "version": task.version,
            "describe": task.describe(),
            "n": len(ok),
            "n_errors": len(recs) - len(ok),
            "classes": len(names),
            "templates": len(templates),
            "breakdown": {},
            "metrics": {
                "top1": asdict(mean_stderr([float(s["pred"] == s["answer"]) for s in ok])),
                "top5": asdict(mean_stderr([float(s["answer"] in s["top5"]) for s in ok])),
            },
            "item_set_sha256": digest([[s["id"], s["answer"]] for s in recs]),
            "spec": key,
            "seconds": round(time.perf_counter() - t0, 3),
        }
    return write_results(run, cfg, run_id, label, model_info, swap, results, started, scored)

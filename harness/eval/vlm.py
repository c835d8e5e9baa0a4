"""Multiple-choice evaluation through a VLM adapter: load, swap the encoder, score every task (likelihood or
generation), append the samples as batches finish, write results.json."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from tqdm import tqdm

from adapters.registry import load_vlm
from harness.eval.config import EvalConfig, TooManyErrors
from harness.eval.engine import Engine
from harness.eval.plan import Plan, check_choices_cover, known_fingerprint
from harness.eval.run import digest, open_run, run_label, take, task_key, write_results
from harness.eval.scoring import score_generate, score_likelihood
from tasks.base import Task


def evaluate_vlm(cfg: EvalConfig, plan: Plan, progress: bool = True) -> dict[str, Any]:
    """Multiple-choice scoring (likelihood or generation) through a VLM adapter."""
    started = time.perf_counter()
    adapter = load_vlm(
        cfg.vlm, cfg.model, cfg.dtype, cfg.device, minigptv2_ckpt=cfg.minigptv2_ckpt, eva_ckpt=cfg.eva_ckpt
    )
    swap = adapter.swap_encoder(cfg.encoder, cfg.allow_partial, cfg.interpolate_pos).to_dict() if cfg.encoder else None
    tasks, choices_used = plan.tasks, plan.choices_used
    model_info = adapter.describe()
    label = run_label(cfg)
    fingerprint = {
        **known_fingerprint(cfg, tasks, choices_used),
        "model": model_info.get("model"),
        "weights_sha256": model_info.get("weights_sha256"),
        "extra_weights": {k: model_info[k]["sha256"] for k in ("minigptv2_ckpt", "eva_ckpt") if k in model_info},
        "encoder_sha256": swap["sha256"] if swap else None,
        "prompt_template": model_info["prompt_template"],
        "dtype": model_info["dtype"],
        "device": model_info["device"],
    }
    run, run_id, done = open_run(cfg, fingerprint, label)
    engine = Engine(adapter, cfg.batch_size)

    task_results, scored_now = {}, 0
    for key, task in tasks.items():
        items = take(task.items(), cfg.limit)
        if choices_used and key in choices_used["tasks"]:
            check_choices_cover(key, task, items, cfg.choices)
        # errored items (e.g. an unreadable image) are retried on resume; scored ones are kept
        todo = [it for it in items if done.get((key, it.id), {"error": "new"})["error"] is not None]
        t0 = time.perf_counter()
        bar = tqdm(
            total=len(items),
            initial=len(items) - len(todo),
            desc=key,
            unit="item",
            smoothing=0.1,
            disable=not progress,
            dynamic_ncols=True,
        )
        batches = (
            score_likelihood(engine, adapter, key, task, todo, cfg.prompt_style)
            if cfg.mode == "likelihood"
            else score_generate(adapter, key, task, todo, cfg.max_new_tokens, engine.batch_size)
        )
        for batch in batches:
            run.append(batch)
            done.update({(s["task"], s["id"]): s for s in batch})
            bar.update(len(batch))
        bar.close()
        scored_now += len(todo)
        samples = [done[(key, it.id)] for it in items]
        task_results[key] = _task_result(task, samples, time.perf_counter() - t0)
        task_results[key]["spec"] = next(s for s in cfg.tasks if task_key(s) == key)
        n_err = task_results[key]["n_errors"]
        if n_err > cfg.max_errors:
            write_results(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now)
            raise TooManyErrors(
                f"task {key}: {n_err} items could not be scored (limit --max-errors "
                f"{cfg.max_errors}); see 'error' in {run.samples_path}"
            )
    return write_results(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now)


def _task_result(task: Task, samples: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    n_err = sum(s["error"] is not None for s in samples)
    breakdown = task.breakdown(samples)
    return {
        "name": task.name,
        "version": task.version,
        "describe": task.describe(),
        "n": len(samples) - n_err,
        "n_errors": n_err,
        "metrics": {k: asdict(m) for k, m in task.metrics(samples).items()},
        "breakdown": {g: {k: asdict(m) for k, m in ms.items()} for g, ms in breakdown.items()},
        "item_set_sha256": digest([[s["id"], s["choices"], s["answer"]] for s in samples]),
        "seconds": round(seconds, 3),
    }

"""One cell: a loaded VLM with one encoder swapped in, scored on every task of a plan into its run directory.

Data-parallel (torchrun): each rank scores every WORLD-th item not yet done and appends to its own shard;
after each task the ranks check that none failed and every rank computes the task's metrics from all
records; rank 0 merges the shards into samples.jsonl and writes results.json."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from tqdm import tqdm

from harness.adapters.base import VLMAdapter
from harness.eval.config import EvalConfig, TooManyErrors
from harness.eval.dist import Dist
from harness.eval.engine import Engine
from harness.eval.plan import Plan, check_choices_cover, known_fingerprint
from harness.eval.run import digest, model_fingerprint, open_run, run_label, take, task_key, write_results
from harness.eval.scoring import score_generate, score_likelihood
from harness.tasks.base import Task


def score_cell(
    adapter: VLMAdapter,
    cfg: EvalConfig,
    plan: Plan,
    model_info: dict[str, Any],
    swap: dict[str, Any] | None,
    started: float,
    progress: bool,
    dist: Dist,
    on_items: Callable[[int], Any] | None = None,
    peft: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score every task of `plan` into the cell's run directory; `swap` and `peft` are the encoder swap's and the
    merged PEFT adapter's reports (None without)."""
    tasks, choices_used = plan.tasks, plan.choices_used
    label = run_label(cfg)
    fingerprint = {
        **known_fingerprint(cfg, tasks, choices_used),
        **model_fingerprint(model_info, swap),
        "device": dist.record_device(model_info["device"]),
    }
    if dist.active:  # rank 0 alone clears (--overwrite), creates the directory and cuts torn tails
        if dist.is_main:
            open_run(cfg, fingerprint, label)
        dist.barrier()
    run, run_id, done = open_run(replace(cfg, overwrite=False) if dist.active else cfg, fingerprint, label)
    dist.barrier()  # nobody appends before every rank has read what is done (and the same set)
    engine = Engine(adapter, cfg.batch_size)
    shard = dist.rank if dist.active else None

    task_results, scored_now, order = {}, 0, []
    for key, task in tasks.items():
        items = take(task.items(), cfg.limit)
        order += [(key, it.id) for it in items]
        error: BaseException | None = None
        t0 = time.perf_counter()
        try:
            if choices_used and key in choices_used["tasks"]:
                check_choices_cover(key, task, items, cfg.choices)
            # errored items (e.g. an unreadable image) are retried on resume; scored ones are kept
            todo = [it for it in items if done.get((key, it.id), {"error": "new"})["error"] is not None]
            mine = dist.shard(todo)
            bar = tqdm(
                total=len(items),
                initial=len(items) - len(todo),
                desc=key,
                unit="item",
                smoothing=0.1,
                disable=not progress or not dist.is_main,
                dynamic_ncols=True,
            )
            batches = (
                score_likelihood(engine, adapter, key, task, mine, cfg.prompt_style)
                if cfg.mode == "likelihood"
                else score_generate(adapter, key, task, mine, cfg.max_new_tokens, engine.batch_size)
            )
            for batch in batches:
                run.append(batch, shard)
                done.update({(s["task"], s["id"]): s for s in batch})
                bar.update(len(batch) * dist.world)
                if on_items is not None:
                    on_items(len(batch) * dist.world)
            bar.close()
            scored_now += len(todo)
        except Exception as e:  # every rank must learn of it, or the others wait forever
            error = e
        dist.check(error)
        if dist.active:
            done = run.done()  # every rank's records of this task
            dist.barrier()  # ... read by all before anyone appends to its shard again
        samples = [done[(key, it.id)] for it in items]
        task_results[key] = _task_result(task, samples, time.perf_counter() - t0)
        task_results[key]["spec"] = next(s for s in cfg.tasks if task_key(s) == key)
        n_err = task_results[key]["n_errors"]
        if n_err > cfg.max_errors:
            if dist.is_main:
                run.merge(order)
                write_results(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now, peft)
            raise TooManyErrors(
                f"task {key}: {n_err} items could not be scored (limit --max-errors "
                f"{cfg.max_errors}); see 'error' in {run.samples_path}"
            )
    if dist.is_main:
        run.merge(order)
        results = write_results(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now, peft)
    dist.barrier()
    if not dist.is_main:
        results = {"run_dir": str(run.path), "label": label, "tasks": task_results, "rank": dist.rank}
    return results


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

"""`harness eval` as a function: load the VLM, swap the encoder, score every task, write the records."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tqdm import tqdm

from adapters.registry import load_vlm
from harness.engine import Engine, OptionScore, Request
from harness.environment import environment, harness_version
from harness.metrics import argmax_first
from harness.records import RunDir
from tasks.base import ImageError, Item, Task
from tasks.registry import build_task

DEFAULT_RUNS = Path("results/runs")


@dataclass
class EvalConfig:
    tasks: list[str]
    vlm: str = "llava"
    model: str | None = None
    encoder: str | None = None
    allow_partial: bool = False
    interpolate_pos: bool = False
    data_root: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    limit: int | None = None
    batch_size: int | str = 8
    dtype: str = "float32"
    device: str = "auto"
    seed: int = 0
    prompt_style: str = "options"
    max_errors: int = 0
    out: str | None = None
    label: str | None = None
    overwrite: bool = False
    minigptv2_ckpt: str | None = None
    eva_ckpt: str | None = None


class TooManyErrors(RuntimeError):
    pass


def run_eval(cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) one evaluation; returns the results.json content."""
    started = time.perf_counter()
    adapter = load_vlm(cfg.vlm, cfg.model, cfg.dtype, cfg.device, minigptv2_ckpt=cfg.minigptv2_ckpt,
                       eva_ckpt=cfg.eva_ckpt)
    swap = adapter.swap_encoder(cfg.encoder, cfg.allow_partial, cfg.interpolate_pos) if cfg.encoder else None
    data = {k: Path(v) for k, v in cfg.data.items()}
    root = Path(cfg.data_root) if cfg.data_root else None
    tasks = [build_task(spec, data_root=root, data=data, seed=cfg.seed) for spec in cfg.tasks]
    model_info = adapter.describe()
    label = cfg.label or (Path(cfg.encoder).stem if cfg.encoder else "zero-shot")
    fingerprint = {
        "vlm": cfg.vlm, "model": model_info.get("model"), "weights_sha256": model_info.get("weights_sha256"),
        "extra_weights": {k: model_info[k]["sha256"] for k in ("minigptv2_ckpt", "eva_ckpt") if k in model_info},
        "encoder_sha256": swap.sha256 if swap else None, "tasks": {t.name: t.version for t in tasks},
        "task_specs": cfg.tasks, "prompt_style": cfg.prompt_style, "prompt_template": model_info["prompt_template"],
        "dtype": model_info["dtype"], "device": model_info["device"], "batch_size": str(cfg.batch_size),
        "seed": cfg.seed, "harness_version": harness_version(),
    }
    run_id = f"{cfg.vlm}-{_slug(label)}-{_digest(fingerprint)[:10]}"
    run = RunDir(Path(cfg.out) if cfg.out else DEFAULT_RUNS / run_id)
    if cfg.overwrite:
        run.clear()
    run.prepare(fingerprint)
    done = run.done()
    engine = Engine(adapter, cfg.batch_size)

    task_results, scored_now = {}, 0
    for task in tasks:
        items = _take(task.items(), cfg.limit)
        # errored items (e.g. an unreadable image) are retried on resume; scored ones are kept
        todo = [it for it in items if done.get((task.name, it.id), {"error": "new"})["error"] is not None]
        t0 = time.perf_counter()
        bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=task.name, unit="item", smoothing=0.1,
                   disable=not progress, dynamic_ncols=True)
        for batch in _score_task(engine, adapter, task, todo, cfg.prompt_style):
            run.append(batch)
            done.update({(s["task"], s["id"]): s for s in batch})
            bar.update(len(batch))
        bar.close()
        scored_now += len(todo)
        samples = [done[(task.name, it.id)] for it in items]
        n_err = sum(s["error"] is not None for s in samples)
        task_results[task.name] = {
            "version": task.version, "spec": next(s for s in cfg.tasks if s.split("=")[0] == task.name),
            "describe": task.describe(), "n": len(samples) - n_err, "n_errors": n_err,
            "metrics": {k: asdict(m) for k, m in task.metrics(samples).items()},
            "item_set_sha256": _digest([[s["id"], s["continuations"], s["answer"]] for s in samples]),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if n_err > cfg.max_errors:
            _write(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now)
            raise TooManyErrors(f"task {task.name}: {n_err} items could not be scored (limit --max-errors "
                                f"{cfg.max_errors}); see 'error' in {run.samples_path}")
    return _write(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now)


def _score_task(engine: Engine, adapter, task: Task, items: list[Item], style: str) -> Iterator[list[dict]]:
    """Yield recorded samples batch by batch; unreadable images become error samples."""
    prompts, errors = {}, []

    def requests() -> Iterator[Request]:
        for it in items:
            prompt = task.prompt(it, adapter.family, style)
            context = adapter.format_prompt(prompt.instruction)
            prompts[it.id] = (it, context, prompt.continuations)
            try:
                image = task.load_image(it)
            except ImageError as e:
                errors.append(_sample(task, it, context, prompt.continuations, adapter.target_delimiter,
                                      None, str(e)))
                continue
            yield Request(it.id, image, context, prompt.continuations, adapter.target_delimiter)

    batch: list[dict] = []
    for req, scores in engine.score_stream(requests()):
        it, context, conts = prompts[req.key]
        batch.append(_sample(task, it, context, conts, req.delimiter, scores, None))
        if errors:
            batch.extend(errors)
            errors.clear()
        if len(batch) >= engine.batch_size:
            yield batch
            batch = []
    batch.extend(errors)
    if batch:
        yield batch


def _sample(task: Task, it: Item, context: str, conts: tuple[str, ...], delim: str,
            scores: list[OptionScore] | None, error: str | None) -> dict[str, Any]:
    s: dict[str, Any] = {"task": task.name, "id": it.id, "prompt": context,
                         "continuations": [delim + c for c in conts], "answer": it.answer,
                         "meta": it.meta, "error": error}
    if scores is not None:
        lps = [x.logprob for x in scores]
        s.update(logprobs=lps, n_tokens=[x.n_tokens for x in scores], n_chars=[x.n_chars for x in scores],
                 is_greedy=[x.is_greedy for x in scores], pred=argmax_first(lps),
                 pred_norm=argmax_first([x.logprob / max(x.n_chars, 1) for x in scores]))
        s["correct"] = s["pred"] == it.answer
    return s


def _write(run: RunDir, cfg: EvalConfig, run_id: str, label: str, model_info: dict, swap: Any,
           task_results: dict, started: float, scored_now: int) -> dict[str, Any]:
    wall = time.perf_counter() - started
    results = {
        "run_id": run_id, "label": label, "config": asdict(cfg), "model": model_info,
        "encoder": {"path": cfg.encoder, "sha256": swap.sha256, "swap_report": swap.to_dict()} if swap else None,
        "tasks": task_results,
        "timing": {"wall_seconds": round(wall, 3), "items_scored_this_invocation": scored_now,
                   "items_per_second": round(scored_now / wall, 3) if wall > 0 else None},
        "environment": environment(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    run.write_results(results)
    results["run_dir"] = str(run.path)
    return results


def _take(items: Iterator[Item], limit: int | None) -> list[Item]:
    out = []
    for it in items:
        if limit is not None and len(out) >= limit:
            break
        out.append(it)
    return out


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:40]

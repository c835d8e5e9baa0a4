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
from adapters.weights import sha256_file
from harness.engine import Engine
from harness.environment import environment, harness_version
from harness.records import RunDir
from harness.scoring import GENERATE_MAX_NEW_TOKENS, score_generate, score_likelihood
from tasks.base import PROMPT_STYLES, Item, Task
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
    mode: str = "likelihood"
    max_new_tokens: int = GENERATE_MAX_NEW_TOKENS
    choices: str | None = None


class TooManyErrors(RuntimeError):
    pass


def run_eval(cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) one evaluation; returns the results.json content."""
    # bad settings fail before any model is loaded
    if cfg.mode not in ("likelihood", "generate"):
        raise ValueError(f"--mode {cfg.mode!r}: expected likelihood or generate")
    if cfg.prompt_style not in PROMPT_STYLES:
        raise ValueError(f"--prompt-style {cfg.prompt_style!r}: expected one of {', '.join(PROMPT_STYLES)}")
    if cfg.vlm == "clip":
        from harness.clip_eval import run_clip_eval

        return run_clip_eval(cfg, progress)
    started = time.perf_counter()
    adapter = load_vlm(cfg.vlm, cfg.model, cfg.dtype, cfg.device, minigptv2_ckpt=cfg.minigptv2_ckpt,
                       eva_ckpt=cfg.eva_ckpt)
    swap = (adapter.swap_encoder(cfg.encoder, cfg.allow_partial, cfg.interpolate_pos).to_dict()
            if cfg.encoder else None)
    data = {k: Path(v) for k, v in cfg.data.items()}
    root = Path(cfg.data_root) if cfg.data_root else None
    tasks = {_task_key(spec): build_task(spec, data_root=root, data=data, seed=cfg.seed) for spec in cfg.tasks}
    if len(tasks) != len(cfg.tasks):
        raise ValueError(f"--tasks names a task twice: {cfg.tasks}")
    choices_used = _apply_choices(tasks, cfg.choices)
    model_info = adapter.describe()
    label = cfg.label or (Path(cfg.encoder).stem if cfg.encoder else "zero-shot")
    fingerprint = {
        "vlm": cfg.vlm, "model": model_info.get("model"), "weights_sha256": model_info.get("weights_sha256"),
        "extra_weights": {k: model_info[k]["sha256"] for k in ("minigptv2_ckpt", "eva_ckpt") if k in model_info},
        "encoder_sha256": swap["sha256"] if swap else None, "tasks": {k: t.version for k, t in tasks.items()},
        "task_specs": cfg.tasks, "prompt_style": cfg.prompt_style, "prompt_template": model_info["prompt_template"],
        "dtype": model_info["dtype"], "device": model_info["device"], "batch_size": str(cfg.batch_size),
        "seed": cfg.seed, "harness_version": harness_version(), "mode": cfg.mode,
        "max_new_tokens": cfg.max_new_tokens if cfg.mode == "generate" else None, "choices": choices_used,
    }
    run, run_id, done = open_run(cfg, fingerprint, label)
    engine = Engine(adapter, cfg.batch_size)

    task_results, scored_now = {}, 0
    for key, task in tasks.items():
        items = _take(task.items(), cfg.limit)
        if choices_used and key in choices_used["tasks"]:
            _check_choices_cover(key, task, items, cfg.choices)
        # errored items (e.g. an unreadable image) are retried on resume; scored ones are kept
        todo = [it for it in items if done.get((key, it.id), {"error": "new"})["error"] is not None]
        t0 = time.perf_counter()
        bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=key, unit="item", smoothing=0.1,
                   disable=not progress, dynamic_ncols=True)
        batches = (score_likelihood(engine, adapter, key, task, todo, cfg.prompt_style) if cfg.mode == "likelihood"
                   else score_generate(adapter, key, task, todo, cfg.max_new_tokens, engine.batch_size))
        for batch in batches:
            run.append(batch)
            done.update({(s["task"], s["id"]): s for s in batch})
            bar.update(len(batch))
        bar.close()
        scored_now += len(todo)
        samples = [done[(key, it.id)] for it in items]
        task_results[key] = _task_result(task, samples, time.perf_counter() - t0)
        task_results[key]["spec"] = next(s for s in cfg.tasks if _task_key(s) == key)
        n_err = task_results[key]["n_errors"]
        if n_err > cfg.max_errors:
            _write(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now)
            raise TooManyErrors(f"task {key}: {n_err} items could not be scored (limit --max-errors "
                                f"{cfg.max_errors}); see 'error' in {run.samples_path}")
    return _write(run, cfg, run_id, label, model_info, swap, task_results, started, scored_now)


def open_run(cfg: EvalConfig, fingerprint: dict[str, Any], label: str) -> tuple[RunDir, str, dict]:
    """The run directory (default: named by the fingerprint, so the same command resumes) and its done items."""
    run_id = f"{cfg.vlm}-{_slug(label)}-{_digest(fingerprint)[:10]}"
    run = RunDir(Path(cfg.out) if cfg.out else DEFAULT_RUNS / run_id)
    if cfg.overwrite:
        run.clear()
    run.prepare(fingerprint)
    return run, run_id, run.done()


def _write(run: RunDir, cfg: EvalConfig, run_id: str, label: str, model_info: dict, swap: Any,
           task_results: dict, started: float, scored_now: int) -> dict[str, Any]:
    wall = time.perf_counter() - started
    results = {
        "run_id": run_id, "label": label, "config": asdict(cfg), "model": model_info,
        "encoder": {"path": cfg.encoder, "sha256": swap["sha256"], "swap_report": swap} if swap else None,
        "tasks": task_results,
        "timing": {"wall_seconds": round(wall, 3), "items_scored_this_invocation": scored_now,
                   "items_per_second": round(scored_now / wall, 3) if wall > 0 else None},
        "environment": environment(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    run.write_results(results)
    results["run_dir"] = str(run.path)
    return results


def _task_key(spec: str) -> str:
    """`name[:split]` of a task spec: the task's key in records (a PATH override is not part of it)."""
    return spec.partition("=")[0]


def _apply_choices(tasks: dict[str, Task], path: str | None) -> dict[str, Any] | None:
    """Re-use published choice sets (an exported file or a run's samples.jsonl) where a task draws them."""
    if not path:
        return None
    used = [k for k, t in tasks.items() if hasattr(t, "use_choices")]
    if not used:
        raise ValueError(f"--choices {path}: none of the tasks {list(tasks)} draws its choices "
                         f"(only tsi, gts and dalle do)")
    for k in used:  # items outside the file are refused later, once --limit has chosen the items
        tasks[k].use_choices(Path(path), missing="keep")
    return {"path": str(path), "sha256": sha256_file(Path(path)), "tasks": used}


def _check_choices_cover(key: str, task: Task, items: list[Item], path: str) -> None:
    from tasks.choices import load_choices

    table = load_choices(Path(path), task=task.name)
    absent = [it.id for it in items if it.id not in table]
    if absent:
        raise ValueError(f"--choices {path}: {len(absent)} of the {len(items)} items of {key} have no choice set "
                         f"there, e.g. {absent[:5]} (was the published run made with a smaller --limit?)")


def _task_result(task: Task, samples: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    n_err = sum(s["error"] is not None for s in samples)
    breakdown = task.breakdown(samples)
    return {
        "name": task.name, "version": task.version, "describe": task.describe(), "n": len(samples) - n_err,
        "n_errors": n_err, "metrics": {k: asdict(m) for k, m in task.metrics(samples).items()},
        "breakdown": {g: {k: asdict(m) for k, m in ms.items()} for g, ms in breakdown.items()},
        "item_set_sha256": _digest([[s["id"], s["choices"], s["answer"]] for s in samples]),
        "seconds": round(seconds, 3),
    }


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

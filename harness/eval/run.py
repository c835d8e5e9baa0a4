"""What every evaluation loop shares: the run directory (named by the fingerprint, so the same command
resumes), item selection, digests and the final results.json."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.adapters.peft_merge import ADAPTER_CONFIG, ADAPTER_WEIGHTS
from harness.eval.config import EvalConfig
from harness.eval.encoder_meta import export_metadata, metadata_columns, peft_label, peft_metadata
from harness.eval.environment import environment
from harness.eval.records import RunDir
from harness.jsonio import dumps
from harness.tasks.base import Item

DEFAULT_RUNS = Path("results/runs")
PEFT_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS)


def task_key(spec: str) -> str:
    """`name[:split]` of a task spec: the task's key in records (a PATH override is not part of it)."""
    return spec.partition("=")[0]


def run_label(cfg: EvalConfig) -> str:
    """`--label`, else the encoder file's stem (`zero-shot` without), with `+<adapter>` for a `--peft` adapter
    (alone when there is no encoder)."""
    if cfg.label:
        return cfg.label
    encoder = Path(cfg.encoder).stem if cfg.encoder else None
    if cfg.peft:
        return f"{encoder}+{peft_label(cfg.peft)}" if encoder else peft_label(cfg.peft)
    return encoder or "zero-shot"


def take(items: Iterable[Item], limit: int | None) -> list[Item]:
    """The first `limit` items (all when None), without reading further."""
    out = []
    for it in items:
        if limit is not None and len(out) >= limit:
            break
        out.append(it)
    return out


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def model_fingerprint(model_info: dict[str, Any], swap: dict[str, Any] | None) -> dict[str, Any]:
    """The fingerprint fields the loaded model and its encoder swap decide (weights, encoder, template, dtype)."""
    return {
        "model": model_info.get("model"),
        "weights_sha256": model_info.get("weights_sha256"),
        "extra_weights": {k: model_info[k]["sha256"] for k in ("minigptv2_ckpt", "eva_ckpt") if k in model_info},
        "encoder_sha256": swap["sha256"] if swap else None,
        "prompt_template": model_info.get("prompt_template"),
        "dtype": model_info.get("dtype"),
    }


def open_run(cfg: EvalConfig, fingerprint: dict[str, Any], label: str) -> tuple[RunDir, str, dict]:
    """The run directory (default: named by the fingerprint, so the same command resumes) and its done items."""
    run_id = f"{cfg.vlm}-{_slug(label)}-{digest(fingerprint)[:10]}"
    run = RunDir(Path(cfg.out) if cfg.out else DEFAULT_RUNS / run_id)
    if cfg.overwrite:
        run.clear()
    run.prepare(fingerprint)
    return run, run_id, run.done()


def write_results(
    run: RunDir,
    cfg: EvalConfig,
    run_id: str,
    label: str,
    model_info: dict,
    swap: Any,
    task_results: dict,
    started: float,
    scored_now: int,
    peft: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """results.json (atomically) with the config, model facts, swap report, merged adapter, metrics and timing."""
    wall = time.perf_counter() - started
    results = {
        "run_id": run_id,
        "label": label,
        "config": asdict(cfg),
        "model": model_info,
        "encoder": {"path": cfg.encoder, "sha256": swap["sha256"], "swap_report": swap} if swap else None,
        "peft": {**peft, "export": peft_metadata(cfg.peft)} if peft else None,
        # what the adapter's and the checkpoint's exports say (session, method, its classes; the checkpoint's
        # win), then the user's labels on top
        "encoder_export": export_metadata(cfg.encoder),
        "encoder_meta": {
            **metadata_columns(peft_metadata(cfg.peft)),
            **metadata_columns(export_metadata(cfg.encoder)),
            **cfg.encoder_meta,
        },
        "tasks": task_results,
        "timing": {
            "wall_seconds": round(wall, 3),
            "items_scored_this_invocation": scored_now,
            "items_per_second": round(scored_now / wall, 3) if wall > 0 else None,
        },
        "environment": environment(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    run.write_results(results)
    results["run_dir"] = str(run.path)
    return results


def _mtime(path: Path) -> float:
    """A file's modification time; +inf when it is missing (the plan then names it)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:40]


def finished_results(cfg: EvalConfig) -> dict[str, Any] | None:
    """The results of a finished run of exactly this config in `cfg.out`, so a re-run can skip it unloaded.
    None when there is none, it is partial (a task missing, or items that errored: a re-run retries those),
    its config differs, or the encoder file or the PEFT adapter changed since."""
    if not cfg.out or cfg.overwrite:
        return None
    run = RunDir(Path(cfg.out))
    if not run.results_path.exists() or run.shard_paths():
        return None
    try:
        results = json.loads(run.results_path.read_text())
    except ValueError:
        return None
    want = json.loads(dumps(asdict(cfg), default=str))  # as written: strict JSON
    recorded = results.get("config")
    if isinstance(recorded, dict):  # a setting added since the run was written (such as peft) reads as None
        recorded = {**{k: None for k in want if k not in recorded}, **recorded}
    if recorded != want:
        return None
    tasks = results.get("tasks") or {}
    if set(tasks) != {task_key(t) for t in cfg.tasks} or any(t.get("n_errors") for t in tasks.values()):
        return None
    if cfg.encoder and Path(cfg.encoder).stat().st_mtime > run.results_path.stat().st_mtime:
        return None
    if cfg.peft and any(_mtime(Path(cfg.peft) / f) > run.results_path.stat().st_mtime for f in PEFT_FILES):
        return None
    return {**results, "run_dir": str(run.path), "skipped": True}

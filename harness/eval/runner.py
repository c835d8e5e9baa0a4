"""`harness eval` as a function: check everything that needs no model, then hand the run to the family's
evaluation loop. Nothing here imports torch, so a bad option, file or run directory is reported in about
the CLI's own start-up time."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from harness.adapters.registry import VLMS
from harness.errors import UnknownName
from harness.eval.config import EvalConfig
from harness.eval.plan import Plan, plan_eval
from harness.eval.run import finished_results

Evaluator = Callable[[EvalConfig, Plan, bool], dict[str, Any]]

# The evaluation loop per family, as "module:function" (imported only when used). Every family in
# `harness.adapters.registry` is scored through its adapter; CLIP classifies zero-shot.
VLM_EVALUATOR = "harness.eval.vlm:evaluate_vlm"
VLM_CELLS_EVALUATOR = "harness.eval.vlm:evaluate_vlm_cells"
LOAD_KEYS = ("vlm", "model", "dtype", "device", "minigptv2_ckpt", "eva_ckpt", "peft")
EVALUATORS: dict[str, str] = {"clip": "harness.clip.evaluate:evaluate_clip"}


def run_eval(cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) one evaluation; returns the results.json content. A finished run of this exact config
    is returned as it is, without loading the model."""
    _check_vlm(cfg)
    plan = plan_eval(cfg)  # bad data, encoder, choices or --out fail here, before any model loads
    done = finished_results(cfg)
    return done if done is not None else evaluator(cfg.vlm)(cfg, plan, progress)


def evaluator(vlm: str) -> Evaluator:
    module, _, name = EVALUATORS.get(vlm, VLM_EVALUATOR).partition(":")
    return getattr(import_module(module), name)


def run_eval_cells(
    cfgs: list[EvalConfig], progress: bool = True, on_items: Callable[[int], Any] | None = None
) -> list[dict[str, Any]]:
    """Several runs that share one model (they differ in encoder, out, label): every cell is planned first,
    finished ones are skipped, the rest are scored on one load. Returns each cell's results, in order."""
    if len({tuple(getattr(c, k) for k in LOAD_KEYS) for c in cfgs}) > 1:
        raise ValueError(f"cells of one load must share {', '.join(LOAD_KEYS)}")
    for cfg in cfgs:
        _check_vlm(cfg)
    plans = [plan_eval(cfg) for cfg in cfgs]  # every cell's data, encoder and --out, before the model loads
    return run_planned_cells(cfgs, plans, progress, on_items)


def run_planned_cells(
    cfgs: list[EvalConfig], plans: list[Plan], progress: bool = True, on_items: Callable[[int], Any] | None = None
) -> list[dict[str, Any]]:
    """`run_eval_cells` for cells already planned (a sweep plans every VLM's cells before the first load)."""
    results: list[dict[str, Any] | None] = [finished_results(cfg) for cfg in cfgs]
    todo = [(i, (cfg, plan)) for i, (cfg, plan, r) in enumerate(zip(cfgs, plans, results)) if r is None]
    if todo and cfgs[0].vlm in EVALUATORS:  # CLIP loads per cell
        fresh = [evaluator(cfgs[0].vlm)(cfg, plan, progress) for _, (cfg, plan) in todo]
    elif todo:
        module, _, name = VLM_CELLS_EVALUATOR.partition(":")
        fresh = getattr(import_module(module), name)([c for _, c in todo], progress, on_items)
    for (i, _), r in zip(todo, fresh if todo else []):
        results[i] = r
    return [r for r in results if r is not None]


def _check_vlm(cfg: EvalConfig) -> None:
    if cfg.vlm not in VLMS and cfg.vlm not in EVALUATORS:
        raise UnknownName(f"unknown --vlm {cfg.vlm!r}; available: {', '.join([*VLMS, *EVALUATORS])}")

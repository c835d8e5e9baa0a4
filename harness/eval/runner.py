"""`harness eval` as a function: check everything that needs no model, then hand the run to the family's
evaluation loop. Nothing here imports torch, so a bad option, file or run directory is reported in about
the CLI's own start-up time."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from adapters.registry import VLMS
from harness.errors import UnknownName
from harness.eval.config import EvalConfig
from harness.eval.plan import Plan, plan_eval

Evaluator = Callable[[EvalConfig, Plan, bool], dict[str, Any]]

# The evaluation loop per family, as "module:function" (imported only when used). Every family in
# `adapters.registry` is scored through its adapter; CLIP classifies zero-shot.
VLM_EVALUATOR = "harness.eval.vlm:evaluate_vlm"
EVALUATORS: dict[str, str] = {"clip": "harness.clip.evaluate:evaluate_clip"}


def run_eval(cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) one evaluation; returns the results.json content."""
    if cfg.vlm not in VLMS and cfg.vlm not in EVALUATORS:
        raise UnknownName(f"unknown --vlm {cfg.vlm!r}; available: {', '.join([*VLMS, *EVALUATORS])}")
    plan = plan_eval(cfg)  # bad data, encoder, choices or --out fail here, before any model loads
    return evaluator(cfg.vlm)(cfg, plan, progress)


def evaluator(vlm: str) -> Evaluator:
    module, _, name = EVALUATORS.get(vlm, VLM_EVALUATOR).partition(":")
    return getattr(import_module(module), name)

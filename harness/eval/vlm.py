"""Multiple-choice evaluation through a VLM adapter: load once (and merge a `--peft` adapter into the weights), then
for each encoder (cell) put the tower back to its loaded weights, swap the encoder in and score every task (see
`harness.eval.cell`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.adapters.peft_merge import merge_peft
from harness.adapters.registry import load_vlm
from harness.eval import dist as dist_mod
from harness.eval.cell import score_cell
from harness.eval.config import EvalConfig
from harness.eval.plan import Plan
from harness.eval.tower import TowerSnapshot


def evaluate_vlm(cfg: EvalConfig, plan: Plan, progress: bool = True) -> dict[str, Any]:
    """Multiple-choice scoring (likelihood or generation) through a VLM adapter."""
    return evaluate_vlm_cells([(cfg, plan)], progress)[0]


def evaluate_vlm_cells(
    cells: list[tuple[EvalConfig, Plan]], progress: bool = True, on_items: Callable[[int], Any] | None = None
) -> list[dict[str, Any]]:
    """Evaluate several encoders (one cell each; same VLM, model, dtype and device) on one loaded VLM.
    Each cell writes the run directory its standalone `harness eval` would write."""
    started = time.perf_counter()
    first = cells[0][0]
    dist = dist_mod.current(first.device)
    adapter = load_vlm(
        first.vlm,
        first.model,
        first.dtype,
        dist.device(first.device),
        minigptv2_ckpt=first.minigptv2_ckpt,
        eva_ckpt=first.eva_ckpt,
    )
    model_info = adapter.describe()  # hashes the weights: once per load, not per cell
    # before any swap, so the tower snapshot holds the merged tower and the swap replaces what it names
    peft = merge_peft(adapter, first.peft, model_info.get("weights_sha256")) if first.peft else None
    snapshot = TowerSnapshot(adapter.vision_tower) if len(cells) > 1 else None
    swapped, out = False, []
    for cfg, plan in cells:
        if swapped and snapshot is not None:
            snapshot.restore()
        swap = None
        if cfg.encoder:
            swap = adapter.swap_encoder(cfg.encoder, cfg.allow_partial, cfg.interpolate_pos).to_dict()
            swapped = True
        out.append(score_cell(adapter, cfg, plan, model_info, swap, started, progress, dist, on_items, peft))
        started = time.perf_counter()
    return out

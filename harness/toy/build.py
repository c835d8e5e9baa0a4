"""`harness toyworld build`: train the toy CLIP and the toy LLaVA from scratch and measure them.

The committed models in `harness/toy/models/` were made by this function; `build.json` beside them
records specs, seed, timings, versions and the metrics a rebuild must match within `TOLERANCE`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from harness.errors import InvalidInput
from harness.eval.environment import environment
from harness.jsonio import dumps
from harness.toy.train_clip import ClipSpec, train_clip
from harness.toy.train_llava import LlavaSpec, train_llava

MODELS_DIR = Path(__file__).resolve().parent / "models"
TOLERANCE = 0.05  # absolute accuracy: a rebuild's metrics must match build.json within this
EVAL_ITEMS = 400
TASKS = ("toy_control", "toy_target")
PROMPT_STYLE = "text"  # the toy LLaVA answers with the option text (see train_llava.LlavaSpec.styles)


def evaluate_llava(
    llava_dir: Path,
    out: Path,
    limit: int = EVAL_ITEMS,
    encoder: str | None = None,
    label: str | None = None,
    progress: bool = False,
    peft: str | None = None,
) -> dict[str, Any]:
    """Score the toy LLaVA on both domains through the ordinary `harness eval` path (`peft`: an adapter directory
    merged first, as `--peft`)."""
    from harness.eval.runner import EvalConfig, run_eval

    return run_eval(
        EvalConfig(
            tasks=list(TASKS),
            model=str(llava_dir),
            device="cpu",
            limit=limit,
            batch_size=16,
            encoder=encoder,
            peft=peft,
            label=label,
            out=str(out),
            prompt_style=PROMPT_STYLE,
            overwrite=True,
        ),
        progress=progress,
    )


def build_world(out_dir: Path = MODELS_DIR, seed: int = 0, log: Callable[[str], Any] = print) -> dict[str, Any]:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"--out {out_dir}: exists and is not a directory")
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    clip = train_clip(out_dir / "clip", ClipSpec(seed=seed), log=log)
    llava = train_llava(out_dir / "clip", out_dir / "llava", LlavaSpec(seed=seed), log=log)
    res = evaluate_llava(out_dir / "llava", out_dir / "_eval")
    metrics = {
        **clip.pop("metrics"),
        **{f"llava_{k}_acc": v["metrics"]["acc"]["value"] for k, v in res["tasks"].items()},
    }
    meta = {
        "seed": seed,
        "metrics": metrics,
        "tolerance": TOLERANCE,
        "clip": clip,
        "llava": llava,
        "total_seconds": round(time.perf_counter() - t0, 1),
        "environment": environment(),
        "eval_items": EVAL_ITEMS,
        "specs": {"clip": asdict(ClipSpec(seed=seed)), "llava": asdict(LlavaSpec(seed=seed))},
    }
    (out_dir / "build.json").write_text(dumps(meta, indent=2) + "\n")
    import shutil

    shutil.rmtree(out_dir / "_eval", ignore_errors=True)
    log(dumps(metrics, indent=1))
    return meta


def compare_to_committed(meta: dict[str, Any], committed: Path = MODELS_DIR / "build.json") -> list[str]:
    """Metrics of a rebuild that differ from the committed build by more than the tolerance."""
    ref = json.loads(Path(committed).read_text())
    return [
        f"{k}: rebuilt {meta['metrics'][k]:.3f} vs committed {v:.3f}"
        for k, v in ref["metrics"].items()
        if abs(meta["metrics"].get(k, float("nan")) - v) > ref["tolerance"] or k not in meta["metrics"]
    ]

"""Encoder updates for CLIP vision towers (LoRSU, SPU, LoRA, LN, F-FT) and CLIP zero-shot classification.

    from harness.tune import TuneConfig, load_clip, from_task, tune, zero_shot_classify
    model = load_clip("open_clip:ViT-L-14-336@openai")
    record = tune(model, data, TuneConfig(method="lorsu", protocol="continual"), out="runs/lorsu")

See `run` for the output layout, `config` for every hyper-parameter and its released default.
"""
from harness.tune.base import ParamReport, TuneMethod
from harness.tune.config import METHODS, TuneConfig
from harness.tune.counting import count_parameters
from harness.tune.data import CaptionedImages, from_task, task_split, templates_for
from harness.tune.keymap import hf_to_open_clip, open_clip_to_hf
from harness.tune.loading import load_clip
from harness.tune.methods import make_method
from harness.tune.models import Block, ClipModel, Projection
from harness.tune.run import OutDirMismatch, tune
from harness.tune.sessions import Session, plan_sessions
from harness.tune.zeroshot import ZeroShotResult, class_embeddings, zero_shot_classify

__all__ = [
    "METHODS", "Block", "CaptionedImages", "ClipModel", "OutDirMismatch", "ParamReport", "Projection",
    "Session", "TuneConfig", "TuneMethod", "ZeroShotResult", "class_embeddings", "count_parameters",
    "from_task", "hf_to_open_clip", "load_clip", "make_method", "open_clip_to_hf", "plan_sessions",
    "task_split", "templates_for", "tune", "zero_shot_classify",
]

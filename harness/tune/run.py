"""`tune(...)`: run a method over the sessions of a protocol, export every session, resume by session.

Output directory:
  tune.json                          run record (rewritten after every session)
  session-{s}/checkpoint_session-{s}_epoch-{E}.pt   merged vision tower, LoRSU release layout
  session-{s}/vision_hf/             the same as HF CLIPVisionModelWithProjection safetensors (CLIP ViTs)
  session-{s}/resume_state.pt        tensors besides the merged weights needed to resume (if any)
  session-{s}/session.json           written last: the session is complete when it exists and every
                                     file it lists has the recorded size
A complete session is skipped; the next one starts from its state. Every session seeds torch, numpy
and random with seed + session, so a resumed run writes the same checkpoints as an uninterrupted one.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.clip.data import CaptionedImages
from harness.clip.models import ClipModel
from harness.errors import InvalidInput
from harness.jsonio import write_atomic
from harness.tune.config import TuneConfig
from harness.tune.methods import make_method
from harness.tune.sessions import Session, plan_sessions
from harness.tune.target import ClipTarget, TuneTarget
from harness.tune.trainer import train_session

RECORD = "tune.json"
RUNTIME_FIELDS = ("device", "workers")


class OutDirMismatch(InvalidInput):
    """The output directory holds a run with other settings or data."""


def tune(
    model: ClipModel | TuneTarget | str,
    data: CaptionedImages,
    cfg: TuneConfig,
    out: str | Path,
    task: str = "",
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train `cfg.method` on `data` under `cfg.protocol`; returns the run record (also in tune.json).

    `model` is a spec for `load_clip`, a loaded `ClipModel` (modified in place; the contrastive objective) or a
    `TuneTarget` (e.g. a VLM tuned through its answer loss, `harness.tune.vlm_target`).
    """
    cfg = cfg.resolved(task or data.name)
    if isinstance(model, str):
        from harness.clip.loading import load_clip

        model = load_clip(model, device=cfg.device, option="--clip")
    target = model if isinstance(model, TuneTarget) else ClipTarget(model.to(cfg.device))
    out = Path(out)
    plan = plan_sessions(data, cfg.protocol, cfg.sessions, cfg.shots, cfg.seed, task or data.name)
    record = _base_record(target, data, cfg, task, plan)
    _prepare_out(out, record, overwrite)

    method = make_method(cfg)
    done: Path | None = None
    restored = False
    sessions: list[dict[str, Any]] = []
    for sess in plan:
        sdir = out / f"session-{sess.index}"
        info = _complete(sdir)
        if info is not None:
            sessions.append({**info, "skipped_on_resume": True})
            done = sdir
            continue
        if done is not None and not restored:
            _restore(target, method, done)
        restored = True
        _seed(cfg.seed + sess.index)
        info = _run_session(target, method, data, sess, cfg, len(plan), sdir, progress)
        sessions.append(info)
        record.update(_summary(sessions))
        _write_json(out / RECORD, {**record, "sessions": sessions, "complete": sess is plan[-1]})
    record.update(_summary(sessions))
    record = {**record, "sessions": sessions, "complete": True}
    _write_json(out / RECORD, record)
    return record


def _run_session(
    target: TuneTarget,
    method,
    data: CaptionedImages,
    sess: Session,
    cfg: TuneConfig,
    n_sessions: int,
    sdir: Path,
    progress: bool,
) -> dict[str, Any]:
    start = time.perf_counter()
    model = target.model
    loader = target.loader(data.subset(sess.indices), cfg, cfg.seed + sess.index)
    objective = target.objective(method, data)
    method.start_session(model, objective, loader)
    report = method.report()
    stats = train_session(
        model,
        method,
        loader,
        objective,
        cfg,
        sessions=n_sessions,
        progress=progress,
        desc=f"{cfg.method} session {sess.index}/{n_sessions}",
    )
    plain = method.finish_session(model)
    if sdir.exists():
        shutil.rmtree(sdir)  # an incomplete earlier attempt
    files = target.export(plain, sdir, sess.index, int(cfg.epochs or 0), method)
    extra = method.extra_state(model)
    if extra:
        torch.save(extra, sdir / "resume_state.pt")
        files["resume_state"] = "resume_state.pt"
    info = {
        "session": sess.index,
        "classes": list(sess.classes),
        "class_names": [data.class_names[c] for c in sess.classes],
        "images": len(sess.indices),
        "group": list(sess.group),  # the official session key (objects, categories, actions), where there is one
        "item_ids": [data.ids[i] for i in sess.indices] if data.ids is not None else None,
        "parameters": report.to_dict(),
        "cost": {"trainable": report.trainable, **_cost(stats.to_dict())},
        "method_info": method.info,
        **stats.to_dict(),
        "files": files,
        "sizes": _sizes(sdir, files),
        "seconds": round(time.perf_counter() - start, 3),
    }
    _write_json(sdir / "session.json", info)
    return info


def _restore(target: TuneTarget, method, sdir: Path) -> None:
    info = json.loads((sdir / "session.json").read_text())
    model = target.model
    if method.resumes_from_checkpoint:
        target.restore(sdir / info["files"]["release"])
    extra = info["files"].get("resume_state")
    state = torch.load(sdir / extra, map_location="cpu", weights_only=True) if extra else {}
    if state:
        method.load_extra_state(model, state)


def _complete(sdir: Path) -> dict[str, Any] | None:
    path = sdir / "session.json"
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    sizes = info.get("sizes", {})
    for rel, size in sizes.items():
        p = sdir / rel
        if not p.is_file() or p.stat().st_size != size:
            return None
    return info if sizes else None


def _sizes(sdir: Path, files: dict[str, str | None]) -> dict[str, int]:
    out = {}
    for rel in files.values():
        if rel is None:
            continue
        p = sdir / rel
        for f in [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file()):
            out[str(f.relative_to(sdir))] = f.stat().st_size
    return out


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _cost(stats: dict[str, Any]) -> dict[str, Any]:
    keys = ("flops_per_step", "seconds_per_step", "peak_memory_bytes", "memory_kind")
    return {k: stats.get(k) for k in keys}


def _base_record(
    target: TuneTarget, data: CaptionedImages, cfg: TuneConfig, task: str, plan: list[Session]
) -> dict[str, Any]:
    import open_clip
    import peft
    import timm
    import transformers

    return {
        "method": cfg.method,
        **target.describe(),
        "task": task or data.name,
        "protocol": cfg.protocol,
        "seed": cfg.seed,
        "hyper_parameters": cfg.to_dict(),
        "data_hash": data.fingerprint(),
        "data": {"images": len(data), "classes": len(data.class_names), "templates": list(data.templates)},
        "plan": [{"session": s.index, "classes": list(s.classes), "images": len(s.indices)} for s in plan],
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "open_clip": open_clip.__version__,
            "peft": peft.__version__,
            "timm": timm.__version__,
        },
    }


def _identity(record: dict[str, Any]) -> dict[str, Any]:
    hp = {k: v for k, v in record["hyper_parameters"].items() if k not in RUNTIME_FIELDS}
    return {
        "method": record["method"],
        "model": record["model"],
        "hyper_parameters": hp,
        "data_hash": record["data_hash"],
        "plan": record["plan"],
    }


def _prepare_out(out: Path, record: dict[str, Any], overwrite: bool) -> None:
    path = out / RECORD
    if overwrite and out.exists():
        for p in [path, *out.glob("session-*")]:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    if path.is_file():
        old = json.loads(path.read_text())
        a, b = _identity(old), _identity(record)
        if a != b:
            diff = sorted(
                k
                for k in set(a["hyper_parameters"]) | set(b["hyper_parameters"])
                if a["hyper_parameters"].get(k) != b["hyper_parameters"].get(k)
            )
            what = [k for k in ("method", "model", "data_hash", "plan") if a[k] != b[k]] + diff
            raise OutDirMismatch(
                f"{out} holds a different tuning run (differs in: {', '.join(what)}); "
                f"use another --out or pass --overwrite"
            )
    out.mkdir(parents=True, exist_ok=True)
    _write_json(
        path, {**record, "sessions": [], "complete": False} if not path.is_file() else json.loads(path.read_text())
    )


def _summary(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    trained = [s for s in sessions if s.get("epoch_seconds")]
    last = sessions[-1]["parameters"] if sessions else None
    mins = [sum(s["epoch_seconds"]) / len(s["epoch_seconds"]) / 60.0 for s in trained]
    return {
        "parameters": last,
        "cost": next((s["cost"] for s in reversed(trained) if s.get("cost")), None),
        "minutes_per_epoch": round(sum(mins) / len(mins), 6) if mins else None,
        "session_losses": {str(s["session"]): s["epoch_losses"] for s in sessions},
    }


def _write_json(path: Path, obj: Any) -> None:
    """tune.json, session.json: strict JSON, written atomically (`harness.jsonio`: a NaN loss is null)."""
    write_atomic(path, obj, indent=1, default=str)

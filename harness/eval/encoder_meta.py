"""What an encoder checkpoint says about itself, for labels, table columns and the continual-learning report.

`harness tune` writes `OUT/tune.json` (method, task, seed, protocol, sessions) and `OUT/session-S/session.json`
(the session's classes) beside each session's checkpoint; a checkpoint elsewhere may still name its session in
its file name (`..._session-3_...`). A PEFT adapter export (`--peft OUT/session-S/peft`, LoRA-LLM and LoRA-full)
says the same through its session folder and its `harness_peft.json`. Torch-free: read before anything loads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SESSION_IN_NAME = re.compile(r"session[-_]?(\d+)", re.IGNORECASE)
RECORD_KEYS = ("method", "task", "seed", "protocol")


def export_metadata(path: str | Path | None) -> dict[str, Any]:
    """{session, method, task, seed, protocol, sessions, session_classes} as far as the files tell; {} for none."""
    if not path:
        return {}
    p = Path(path)
    session_dir = p.parent if p.is_file() else p
    if session_dir.name == "vision_hf":  # the HF form of a session export
        session_dir = session_dir.parent
    out: dict[str, Any] = {}
    if (m := SESSION_IN_NAME.search(session_dir.name)) or (m := SESSION_IN_NAME.search(p.name)):
        out["session"] = int(m.group(1))
    session = _json(session_dir / "session.json")
    if isinstance(session.get("session"), int):
        out["session"] = session["session"]
    if isinstance(session.get("class_names"), list):
        out["session_classes"] = [str(c) for c in session["class_names"]]
    record = _json(session_dir.parent / "tune.json")
    out.update({k: record[k] for k in RECORD_KEYS if k in record})
    if isinstance(record.get("plan"), list):
        out["sessions"] = len(record["plan"])
    return out


def metadata_columns(meta: dict[str, Any]) -> dict[str, str]:
    """The export metadata as table columns (strings; the class lists left out)."""
    return {k: str(v) for k, v in meta.items() if not isinstance(v, list | dict)}


def export_label(path: str) -> str:
    """`<method>-session-<s>` for a session export of `harness tune` (their file names repeat across methods),
    else the file's stem."""
    meta = export_metadata(path)
    if "method" in meta and "session" in meta:
        return f"{meta['method']}-session-{meta['session']}"
    return Path(path).stem


def peft_metadata(path: str | Path | None) -> dict[str, Any]:
    """What a PEFT adapter directory says about itself: `harness_peft.json`'s method and session, then, for a
    `harness tune` export (`OUT/session-S/peft`), its session folder and tune record as `export_metadata` reads them."""
    if not path:
        return {}
    p = Path(path).expanduser().resolve()
    record = _json(p / "harness_peft.json")
    out: dict[str, Any] = {k: record[k] for k in ("method", "session") if isinstance(record.get(k), str | int)}
    if (p.parent / "session.json").is_file() or SESSION_IN_NAME.search(p.parent.name):
        out.update(export_metadata(p.parent))
    return out


def peft_label(path: str) -> str:
    """`<method>-session-<s>` for a session export, else the directory's name (with its parent's when it is only
    `peft` or `adapter`)."""
    meta = peft_metadata(path)
    if "method" in meta and "session" in meta:
        return f"{meta['method']}-session-{meta['session']}"
    p = Path(path).expanduser().resolve()
    return f"{p.parent.name}-{p.name}" if p.name in ("peft", "adapter") and p.parent.name else p.name


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

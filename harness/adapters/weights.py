"""Locating model weights and fingerprinting them for run records."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from harness.errors import InputNotFound

HASH_CACHE = Path(os.environ.get("HARNESS_CACHE", Path.home() / ".cache" / "harness")) / "sha256.json"


class WeightsNotFound(InputNotFound):
    """The model weights are not on this machine."""


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """sha256 of a file, remembered by (path, size, mtime) so 14 GB checkpoints are hashed once."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    cache = _read_cache()
    if key in cache:
        return cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    cache[key] = h.hexdigest()
    _write_cache(cache)
    return cache[key]


def weights_fingerprint(model_dir: Path) -> dict[str, str]:
    """sha256 per weight file of a local model directory, plus the hub revision when it is a snapshot."""
    model_dir = Path(model_dir)
    files = sorted(p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin", ".pth", ".pt"))
    out = {p.name: sha256_file(p) for p in files}
    if model_dir.parent.name == "snapshots":
        out["hub_revision"] = model_dir.name
    return out


def resolve_model_dir(model: str, option: str = "--model") -> Path:
    """A local directory for `model` (a path, or a hub id already in the local HF cache); errors name `option`."""
    p = Path(model).expanduser()
    if p.is_dir():
        return p
    if p.exists() or model.startswith((".", "/", "~")):
        raise WeightsNotFound(f"{option} {model!r}: not a model directory (expected config.json and weights)")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception as e:  # any hub failure means the same to the user: not here
        raise WeightsNotFound(
            f"{option} {model!r}: no such directory, and the weights of that hub id are not available "
            f"on this machine ({type(e).__name__}).\n"
            f"Fetch them once with:  hf download {model}\n"
            f"or pass a local directory with {option} DIR (config.json, weights, tokenizer, processor)."
        ) from e


def _read_cache() -> dict[str, str]:
    try:
        return json.loads(HASH_CACHE.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(cache: dict[str, str]) -> None:
    try:
        HASH_CACHE.parent.mkdir(parents=True, exist_ok=True)
        tmp = HASH_CACHE.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache))
        tmp.replace(HASH_CACHE)
    except OSError:
        pass  # the hash is still returned; only the memo is lost

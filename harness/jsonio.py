"""Strict JSON for every record the harness writes (results.json, config.json, samples.jsonl, tune.json,
session.json, baselines, `harness compare --json`, the toy build's build.json).

An undefined number (POPE's precision when nothing was answered "yes", the mean of no items, an infinite
bound) is written as `null`: Python's `NaN`/`Infinity` tokens are not JSON, and jq, JavaScript and most other
readers refuse them. Readers treat null as "undefined" (`harness.report.runs.Run.metric`; summaries print
"undefined"). Every dump goes through `allow_nan=False`, so a non-finite float that slipped past `finite`
fails loudly instead of writing bad JSON. numpy scalars are written as the Python numbers they hold.
A leaf like `harness.errors`: no imports of its own, so every layer may use it."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def finite(obj: Any) -> Any:
    """`obj` with every NaN/±inf float (numpy's included) replaced by None and numpy scalars as Python numbers,
    through dicts, lists and tuples (tuples become lists, as JSON writes them)."""
    if isinstance(obj, float):  # numpy.float64 is a float
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if type(obj).__module__ == "numpy" and getattr(obj, "shape", None) == () and hasattr(obj, "item"):
        return finite(obj.item())  # numpy.float32, numpy.int64, numpy.bool_, 0-d arrays
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` of `finite(obj)` with `allow_nan=False` (other keyword arguments as json.dumps takes them)."""
    return json.dumps(finite(obj), allow_nan=False, **kwargs)


def write_atomic(path: Path, obj: Any, **kwargs: Any) -> None:
    """Write `dumps(obj, **kwargs)` and a newline to `path` through a temporary file beside it, then rename, so
    a reader (or a kill) never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(dumps(obj, **kwargs) + "\n", encoding="utf-8")
    os.replace(tmp, path)

"""Smoke test: the GPU benchmark's code path runs end to end on tiny stand-in models on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_gpu_tiny_runs_on_cpu():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "benchmarks/bench_gpu.py", "--scale", "tiny", "--items", "6", "--plain-items", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [ln.split() for ln in out.stdout.splitlines() if ln.startswith(("llava ", "minigptv2 "))]
    assert [(r[0], r[1]) for r in rows] == [
        ("llava", "bfloat16"),
        ("llava", "float16"),
        ("minigptv2", "bfloat16"),
        ("minigptv2", "float16"),
    ]
    for r in rows:
        engine, plain, speedup = float(r[2]), float(r[3]), float(r[4].rstrip("x"))
        assert engine > 0 and plain > 0 and abs(speedup - engine / plain) < 0.06 * speedup + 0.1
        assert r[9] == "3/3" or int(r[9].split("/")[0]) >= 2  # picks agree save a half-precision near tie

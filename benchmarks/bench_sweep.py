"""N encoders through one `harness sweep` (one VLM load) vs N separate `harness eval` processes.

Model: a LLaVA-shaped model with random weights saved to a temp dir: a small CLIP tower (the default tiny
one) and a Llama LM of 30 layers × 1024 (≈0.5 B parameters, ≈2 GB fp32), so loading matters as in real
use. Encoders: N open_clip checkpoints of the tower. Each way runs in fresh processes (as a user would)
with the same weight-hash memo, warmed first, so only loading and swapping differ. Each child reports
the seconds spent in `load_vlm` and in encoder swaps; the parent measures each way's wall time.

    python benchmarks/bench_sweep.py [--encoders 3] [--items 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = "--child"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's harness, not another installed copy


def build(tmp: Path, n_encoders: int, n_items: int) -> tuple[Path, list[Path], Path]:
    from safetensors import safe_open

    from harness.adapters.weights import weights_fingerprint
    from harness.tasks.toy_shapes import write_mcq_set
    from harness.toy.tiny_llava import TinySpec, build_tiny_llava, build_tiny_open_clip_checkpoint

    spec = TinySpec(text_width=1024, text_layers=30, text_heads=16, text_kv_heads=16, text_mlp=4096)
    model = build_tiny_llava(tmp / "llava", spec)
    with safe_open(model / "model.safetensors", "pt") as f:
        n_params = sum(_numel(f.get_slice(k).get_shape()) for k in f.keys())
    print(f"model: {n_params / 1e9:.2f} B parameters in {model}")
    encs = [build_tiny_open_clip_checkpoint(tmp / "enc" / f"enc{i}.pt", spec, seed=i + 1) for i in range(n_encoders)]
    data = write_mcq_set(tmp / "data", n_items, seed=0)
    weights_fingerprint(model)  # warm the shared hash memo: both ways then only load and swap
    return model, encs, data


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def child(way: str, args: list[str]) -> None:
    """Run one way in this process, timing load_vlm and swap_encoder; print the figures as JSON."""
    from harness.adapters.llava import LlavaAdapter
    from harness.eval import vlm as vlm_mod

    spent = {"load_s": 0.0, "swap_s": 0.0}
    real_load, real_swap = vlm_mod.load_vlm, LlavaAdapter.swap_encoder

    def load(*a, **kw):
        t = time.perf_counter()
        try:
            return real_load(*a, **kw)
        finally:
            spent["load_s"] += time.perf_counter() - t

    def swap(self, *a, **kw):
        t = time.perf_counter()
        try:
            return real_swap(self, *a, **kw)
        finally:
            spent["swap_s"] += time.perf_counter() - t

    vlm_mod.load_vlm, LlavaAdapter.swap_encoder = load, swap
    from harness.cli import app

    try:
        app([way, *args], standalone_mode=False)
    finally:
        print("BENCH " + json.dumps(spent))


def run_child(way: str, args: list[str]) -> dict[str, float]:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, CHILD, way, *args], capture_output=True, text=True, env={**os.environ}
    )
    wall = time.perf_counter() - t
    lines = [x for x in proc.stdout.splitlines() if x.startswith("BENCH ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{way} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return {**json.loads(lines[-1][6:]), "total_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoders", type=int, default=3)
    ap.add_argument("--items", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        os.environ["HARNESS_CACHE"] = str(tmp / "cache")
        model, encs, data = build(tmp, a.encoders, a.items)
        common = ["--tasks", f"mcq_jsonl={data}", "--model", str(model), "--device", "cpu", "--quiet"]
        separate = [run_child("eval", [*common, "--encoder", str(e), "--out", str(tmp / "sep" / e.stem)]) for e in encs]
        spec = tmp / "sweep.toml"
        spec.write_text(
            f'out = "{tmp / "grid"}"\n[eval]\ntasks = ["mcq_jsonl={data}"]\ndevice = "cpu"\n'
            f'[[vlm]]\nmodel = "{model}"\n[[encoder]]\npath = "{tmp / "enc"}/*.pt"\n'
        )
        one = run_child("sweep", [str(spec), "--quiet"])
        for e in encs:  # same records both ways
            a_ = (tmp / "sep" / e.stem / "samples.jsonl").read_text()
            assert a_ == (tmp / "grid" / "llava" / e.stem / "samples.jsonl").read_text(), e
        sep = {k: sum(r[k] for r in separate) for k in ("load_s", "swap_s", "total_s")}
        print(f"{a.encoders} encoders × {a.items} items, CPU, {os.environ.get('OMP_NUM_THREADS', 'all')} threads")
        print(f"{'way':<28}{'load s':>10}{'swap s':>10}{'total s':>10}")
        print(f"{'N separate harness eval':<28}{sep['load_s']:>10.1f}{sep['swap_s']:>10.2f}{sep['total_s']:>10.1f}")
        print(f"{'one harness sweep':<28}{one['load_s']:>10.1f}{one['swap_s']:>10.2f}{one['total_s']:>10.1f}")
        ratio = sep["total_s"] / one["total_s"], sep["load_s"] / one["load_s"]
        print(f"ratio separate/sweep: total {ratio[0]:.2f}x, load {ratio[1]:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == CHILD:
        child(sys.argv[2], sys.argv[3:])
    else:
        main()

"""Peak host memory of loading a model in bf16 through the adapters' own loading code.

Builds a ~0.55B-parameter Llama (18 layers x 1536, random weights) twice: inside a MiniGPT-v2 layout (Llama
dir + stage checkpoint + fp16 EVA file, a 12 x 768 ViT: the release's proportion of vision weights) and
inside a LLaVA directory (tiny CLIP tower). The weights are stored in fp16 on disk, as the Llama-2 /
LLaVA-1.5 releases are. Each load runs in a fresh subprocess so its peaks are its own; the value after
imports is subtracted. Printed per case (GB = 1e9 bytes): loaded weights (parameters and buffers in
memory); peak RSS (VmHWM, which counts the page cache of the mmapped weight files) and peak anonymous RSS
(RssAnon sampled every 2 ms: what the process allocated), each with its ratio to the weights (target
<= 1.3); and the load's wall time. The adapters read the safetensors files with pread, tensor by tensor
(harness/adapters/hf_loading.py). Baselines in the same run: transformers' own `from_pretrained(dir)`, which
memory-maps the file so every page read stays resident until the load ends (with sharded releases the
excess is the largest shard, not the whole file), and the previous MiniGPT-v2 loading, Llama read in fp32
and then cast to bf16.

    python benchmarks/bench_load.py [--layers 18] [--width 1536]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    "minigptv2 bf16",
    "llava bf16",
    "llava fp16 (disk dtype)",
    "llava bf16, transformers mmap",
    "llama fp32 then cast (previous)",
)


def build(tmp: Path, layers: int, width: int) -> dict[str, Path]:
    import torch

    from harness.toy.tiny_llava import TinySpec, build_tiny_llava
    from harness.toy.tiny_minigptv2 import TinyMiniGPTv2Spec, build_tiny_minigptv2

    heads, mlp = width // 128, int(width * 8 / 3) // 64 * 64
    # the ViT in the release's proportion (EVA ViT-g is 15% of MiniGPT-v2's weights): 12 x 768, 85M parameters
    vit = {"vision_width": 768, "vision_layers": 12, "vision_heads": 12, "vision_mlp": 3072}
    mg = build_tiny_minigptv2(
        tmp / "mgv2", TinyMiniGPTv2Spec(text_width=width, text_layers=layers, text_heads=heads, text_mlp=mlp, **vit)
    )
    eva = torch.load(mg["eva_ckpt"], weights_only=True)
    torch.save({k: v.half() for k, v in eva.items()}, mg["eva_ckpt"])  # eva_vit_g.pth is fp16, as released
    llava = build_tiny_llava(
        tmp / "llava",
        TinySpec(text_width=width, text_layers=layers, text_heads=heads, text_kv_heads=heads, text_mlp=mlp),
    )
    for d in (mg["model"], llava):
        to_fp16_on_disk(d)
    return {"mgv2": mg["model"], "mgv2_ckpt": mg["minigptv2_ckpt"], "eva": mg["eva_ckpt"], "llava": llava}


def to_fp16_on_disk(model_dir: Path) -> None:
    """Rewrite every safetensors file in fp16 and say so in config.json (the releases' storage dtype)."""
    from safetensors.torch import load_file, save_file

    for f in model_dir.glob("*.safetensors"):
        sd = {k: v.half() if v.is_floating_point() else v for k, v in load_file(f).items()}
        save_file(sd, f, metadata={"format": "pt"})
        del sd
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["dtype"] = "float16"
    (model_dir / "config.json").write_text(json.dumps(cfg, indent=1))


class AnonSampler:
    """Peak anonymous RSS (RssAnon: memory the process itself allocated, not reclaimable page cache of
    mmapped weight files), sampled every 2 ms from a thread."""

    def __init__(self) -> None:
        import threading

        self.peak = anon_rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, anon_rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, anon_rss())
        return self.peak


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {key} line (Linux only)")


def anon_rss() -> int:
    return _status("RssAnon")


def high_water_rss() -> int:
    """Peak RSS of this process image in bytes, page cache of mmapped files included. Not ru_maxrss: Linux
    carries the parent's peak into a fork+exec'd child's ru_maxrss, so it would report the builder's memory."""
    return _status("VmHWM")


def child(case: str, paths: dict[str, str]) -> None:
    """Load once, print JSON {baseline, peak, weights} in bytes."""
    import psutil
    import torch
    from transformers import LlamaForCausalLM, LlavaForConditionalGeneration

    from harness.adapters.llava import LlavaAdapter
    from harness.adapters.minigptv2 import MiniGPTv2Adapter

    baseline, base_anon = psutil.Process().memory_info().rss, anon_rss()
    sampler = AnonSampler()
    started = time.perf_counter()
    if case == "minigptv2 bf16":
        model = MiniGPTv2Adapter.load(
            paths["mgv2"], paths["mgv2_ckpt"], paths["eva"], dtype="bfloat16", device="cpu"
        ).model
    elif case == "llava bf16, transformers mmap":
        model = LlavaForConditionalGeneration.from_pretrained(paths["llava"], dtype=torch.bfloat16)
    elif case.startswith("llava"):
        dtype = "bfloat16" if "bf16" in case else "float16"
        model = LlavaAdapter.load(paths["llava"], dtype=dtype, device="cpu").model
    else:
        model = LlamaForCausalLM.from_pretrained(paths["mgv2"], dtype=torch.float32).to(torch.bfloat16)
    seconds = time.perf_counter() - started
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    peak, peak_anon = high_water_rss(), sampler.stop()
    out = {"baseline": baseline, "peak": peak, "weights": weights, "anon": peak_anon - base_anon, "seconds": seconds}
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=18)
    ap.add_argument("--width", type=int, default=1536)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--paths", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, json.loads(args.paths))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: str(v) for k, v in build(Path(tmp), args.layers, args.width).items()}
        gb = 1e9
        print(
            f"{'case':<34}{'weights GB':>11}{'RSS peak-base':>14}{'ratio':>7}{'anon peak-base':>15}{'ratio':>7}"
            f"{'load s':>8}"
        )
        for case in CASES:
            out = subprocess.run(
                [sys.executable, __file__, "--child", case, "--paths", json.dumps(paths)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            extra = r["peak"] - r["baseline"]
            print(
                f"{case:<34}{r['weights'] / gb:>11.2f}{extra / gb:>14.2f}{extra / r['weights']:>7.2f}"
                f"{r['anon'] / gb:>15.2f}{r['anon'] / r['weights']:>7.2f}{r['seconds']:>8.1f}"
            )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

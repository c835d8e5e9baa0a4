"""Engine throughput on LLaVA-1.5-7B, MiniGPT-v2 and Qwen2.5-VL-7B at real sizes (random weights), bf16/fp16, one GPU.

Per model and dtype, in the same run: the engine with `--batch-size auto` on `--items` generated five-option
items (images 336 px for LLaVA and Qwen2.5-VL, 448 px for MiniGPT-v2; a ~60-word instruction; options of 1-7
words) against one plain forward per option (the reference path) on the first `--plain-items` items. Qwen2.5-VL
resizes dynamically: 336 x 336 px is 24 x 24 patches of 14 px, 144 image tokens per item (one per 28 x 28 px),
and exactly 3 x 3 of its 112-px attention windows. Printed per row: engine and plain items/s and their ratio,
the batch size `auto` settled on, peak GPU memory, the assumed FLOPs per item (2 x parameters x tokens for the
decoder, lm_head on scored positions only, causal attention QK^T and AV; for the ViT 2 x parameters x patches,
Qwen's patch merger on its merged tokens only, and Qwen's ViT attention counted properly: 4 x width x the squared
window lengths in its window blocks, all patches in its full-attention blocks; the CLIP and EVA ViTs' attention
is left out, as before) and the fraction of the bf16 dense peak (`--peak-tflops`, default 989: H100/H200 SXM)
that the engine's items/s reach. It also prints whether engine and plain forward pick the same
options on the shared items and their largest score difference (half-precision rounding; see
tests/harness/eval/test_engine_half.py).

    python benchmarks/bench_gpu.py                 # full size, needs CUDA (~14-17 GB weights per model)
    python benchmarks/bench_gpu.py --scale tiny    # tiny stand-ins on CPU, seconds (smoke test)

Full-size output shape (no figures are claimed here; none were measured without a GPU):

    device=cuda:0 (<GPU name>) items=200 plain-items=20 peak=989 TFLOP/s (bf16 dense, assumed)
    model      dtype     engine it/s  plain it/s  speed-up  auto batch  peak GiB  TFLOP/item  of peak  same  max|Δ|
    llava      bfloat16  <float>      <float>     <float>x  <int>       <float>   <float>     <pct>    <k>/20 <float>
    llava      float16   ...
    minigptv2  bfloat16  ...
    minigptv2  float16   ...
    qwen2_5_vl bfloat16  ...
    qwen2_5_vl float16   ...

Qwen2.5-VL full size reads the Qwen2 GGUF vocabulary (tests/data/tokenizers, ~25 s, outside the timings); its
assumed work, from the config alone, is ~4.1 TFLOP/item (0.75 in the ViT). Tiny uses the toy tokenizer.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gpu_models import build_llava, build_minigptv2
from benchmarks.gpu_models_qwen import build_qwen2_5_vl, vit_flops
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.tasks.metrics import argmax_first
from harness.tasks.toy_shapes import draw_shape

COLORS = ("red", "green", "blue", "yellow", "purple")
SHAPES = ("circle", "square", "triangle", "star", "cross")
POSITIONS = ("left", "right", "top", "bottom", "center")
INSTRUCTION = (
    "Look carefully at the picture and answer the question about the main object. The image shows a "
    "single shape drawn on a plain background; consider its colour, its outline and where it sits in "
    "the frame before you decide, and ignore any compression artefacts or noise near the borders. "
    "Which of the following descriptions matches the image best? Answer with the option text only."
)
BUILDERS = {"llava": build_llava, "minigptv2": build_minigptv2, "qwen2_5_vl": build_qwen2_5_vl}
QWEN_PX = 336  # dynamic resolution: the size the items are drawn at (module docstring)
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}


def make_items(adapter, n: int, size: int, seed: int = 0) -> list[Request]:
    rng = random.Random(seed)
    reqs = []
    for i in range(n):
        c, s, p = rng.choice(COLORS), rng.choice(SHAPES), rng.choice(POSITIONS)
        image = draw_shape(c, s, p if p != "center" else "left", size, rng)
        opts = (
            f"a {c} {s}",
            f"a {rng.choice(COLORS)} {s} on the {p}",
            f"{rng.choice(COLORS)}",
            f"a small {rng.choice(COLORS)} {rng.choice(SHAPES)} near the {rng.choice(POSITIONS)} edge",
            "nothing",
        )
        reqs.append(Request(f"item{i}", image, adapter.format_prompt(INSTRUCTION), opts, adapter.target_delimiter))
    return reqs


def image_size(adapter) -> int:
    if adapter.family == "qwen2_5_vl":
        return QWEN_PX
    return getattr(adapter, "image_size", None) or adapter.model.config.vision_config.image_size


def vision_flops(adapter, image) -> float:
    """Assumed ViT FLOPs for one item's image (see the module docstring)."""
    tower = adapter.vision_tower
    if adapter.family == "qwen2_5_vl":
        _, h, w = adapter.processor.image_processor([image], return_tensors="pt")["image_grid_thw"][0].tolist()
        return vit_flops(tower, (h, w))  # one frame per image: t = 1
    vcfg = tower.config
    return 2 * sum(p.numel() for p in tower.parameters()) * ((vcfg.image_size // vcfg.patch_size) ** 2 + 1)


def flops_per_item(adapter, engine: Engine, reqs: list[Request]) -> float:
    """Mean assumed FLOPs of the engine's work per item (see the module docstring)."""
    llm = adapter.model.llm if hasattr(adapter.model, "llm") else adapter.model.model.language_model
    cfg = llm.config
    d, layers = cfg.hidden_size, cfg.num_hidden_layers
    # "layers." also matches a bare decoder's own names ("layers.0...": LLaVA's language_model)
    p_body = sum(p.numel() for n, p in llm.named_parameters() if "layers." in n)
    vocab = llm.get_input_embeddings().weight.shape[0]
    total, vis = 0.0, {}
    for r in reqs:
        if r.image.size not in vis:  # the ViT's work depends on the image size alone
            vis[r.image.size] = vision_flops(adapter, r.image)
        ctx, conts = engine.tokenize(r)
        L, T = len(ctx), sum(len(c) - 1 for c in conts)
        attn = 4 * layers * d * (L * L / 2 + T * (L + T / 2))
        total += vis[r.image.size] + 2 * p_body * (L + T) + 2 * d * vocab * (1 + T) + attn
    return total / len(reqs)


def run_one(name: str, dtype: str, args, device: torch.device) -> str:
    adapter = BUILDERS[name](args.scale, DTYPES[dtype], device)
    reqs = make_items(adapter, args.items, image_size(adapter))
    engine = Engine(adapter, batch_size="auto")
    engine.score(reqs[:2])  # warm-up (kernels, allocator)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    fast = engine.score(reqs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t_engine = time.perf_counter() - t0
    peak = f"{torch.cuda.max_memory_allocated() / 2**30:.1f}" if device.type == "cuda" else "n/a"
    shared = reqs[: args.plain_items]
    t0 = time.perf_counter()
    ref = [plain_forward_scores(adapter, r) for r in shared]
    if device.type == "cuda":
        torch.cuda.synchronize()
    t_plain = time.perf_counter() - t0
    same = sum(argmax_first([s.logprob for s in f]) == argmax_first(p) for f, p in zip(fast, ref))
    diff = max(abs(s.logprob - x) for f, p in zip(fast, ref) for s, x in zip(f, p))
    eng_ips, plain_ips = len(reqs) / t_engine, len(shared) / t_plain
    flops = flops_per_item(adapter, engine, reqs)
    frac = f"{100 * flops * eng_ips / (args.peak_tflops * 1e12):.1f}%" if device.type == "cuda" else "n/a"
    row = (
        f"{name:<11}{dtype:<10}{eng_ips:>12.2f}{plain_ips:>12.2f}{eng_ips / plain_ips:>9.1f}x"
        f"{engine.batch_size:>12}{peak:>10}{flops / 1e12:>12.3g}{frac:>9}{f'{same}/{len(shared)}':>12}{diff:>9.3g}"
    )
    del adapter, engine
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=("full", "tiny"), default="full")
    ap.add_argument("--items", type=int, help="default 200 (full), 12 (tiny)")
    ap.add_argument("--plain-items", type=int, help="default 20 (full), 4 (tiny)")
    ap.add_argument("--models", default="llava,minigptv2,qwen2_5_vl")
    ap.add_argument("--dtypes", default="bfloat16,float16")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak of the GPU, TFLOP/s")
    args = ap.parse_args()
    tiny = args.scale == "tiny"
    args.items = args.items or (12 if tiny else 200)
    args.plain_items = min(args.items, args.plain_items or (4 if tiny else 20))
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if not tiny and device.type != "cuda":
        sys.exit("--scale full needs a CUDA GPU (7B models in bf16); use --scale tiny on CPU")
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(
        f"device={device}{gpu} scale={args.scale} items={args.items} plain-items={args.plain_items} "
        f"peak={args.peak_tflops:g} TFLOP/s (bf16 dense, assumed)"
    )
    print(
        f"{'model':<11}{'dtype':<10}{'engine it/s':>12}{'plain it/s':>12}{'speed-up':>10}{'auto batch':>12}"
        f"{'peak GiB':>10}{'TFLOP/item':>12}{'of peak':>9}{'same picks':>12}{'max |Δ|':>9}"
    )
    for name in args.models.split(","):
        for dtype in args.dtypes.split(","):
            print(run_one(name, dtype, args, device), flush=True)


if __name__ == "__main__":
    main()

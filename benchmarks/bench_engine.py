"""Engine vs one plain forward per option, measured in the same run on a small LLaVA.

Model: CLIP ViT 6 layers × 256 at 224 px (patch 14 → 256 image tokens) + Llama 8 layers × 512, random
weights, fp32, CPU by default. Three item kinds: 5-option multi-token, 2-option, single-token 4-way.
Prints seconds, items/s and the speed-up, and checks that both paths predict the same options.
`--vlm` picks another family, built by the tests' tiny builders (much smaller models, any-res images of
mixed sizes for LLaVA-NeXT/OneVision): the same comparison through that family's adapter.

    python benchmarks/bench_engine.py [--vlm llava] [--items 24] [--batch-size 8] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from harness.adapters.llava import LlavaAdapter
from harness.adapters.registry import load_vlm
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.tasks.metrics import argmax_first
from harness.tasks.toy_shapes import draw_shape
from harness.toy.tiny_llava import TinySpec, build_tiny_llava


def _family_builders() -> dict:
    from tests.harness.adapters.tiny_blip import build_tiny_blip2, build_tiny_instructblip
    from tests.harness.adapters.tiny_families import build_tiny_llava_next, build_tiny_onevision

    return {
        "llava_next": build_tiny_llava_next,
        "llava_onevision": build_tiny_onevision,
        "blip2": build_tiny_blip2,
        "instructblip": build_tiny_instructblip,
    }


FAMILY_BUILDERS = _family_builders()
BENCH_SPEC = TinySpec(
    image_size=224,
    patch_size=14,
    vision_width=256,
    vision_layers=6,
    vision_heads=4,
    vision_mlp=1024,
    text_width=512,
    text_layers=8,
    text_heads=8,
    text_kv_heads=8,
    text_mlp=1376,
    vocab_size=500,
)
KINDS = {
    "5-option multi-token": (
        "What is shown in the image?",
        (
            "a red circle on the left",
            "a green square",
            "a blue triangle at the top",
            "a yellow star at the bottom",
            "purple cross",
        ),
    ),
    "2-option": ("Is there a circle in the image?", ("yes", "no")),
    "single-token 4-way": ("Pick the letter.", ("A", "B", "C", "D")),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--vlm", default="llava", choices=["llava", *FAMILY_BUILDERS])
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    with tempfile.TemporaryDirectory() as tmp:
        if args.vlm == "llava":
            build_tiny_llava(Path(tmp), BENCH_SPEC)
            adapter = LlavaAdapter.load(tmp, dtype=args.dtype, device=args.device)
        else:
            FAMILY_BUILDERS[args.vlm](Path(tmp))
            adapter = load_vlm(args.vlm, tmp, args.dtype, args.device)
    import random

    rng = random.Random(0)
    sizes = [(224, 224), (224, 448), (448, 160), (300, 300)]  # mixed sizes: any-res tiles differ per image
    images = [draw_shape("red", "circle", "left", 224, rng).resize(sizes[i % len(sizes)]) for i in range(args.items)]
    print(
        f"device={adapter.device} dtype={adapter.dtype} items/kind={args.items} batch={args.batch_size} "
        f"threads={torch.get_num_threads()}"
    )
    print(f"{'kind':<22}{'plain s':>9}{'engine s':>10}{'speed-up':>10}{'same preds':>12}{'max |Δ|':>10}")
    for kind, (q, opts) in KINDS.items():
        reqs = [
            Request(f"{kind}-{i}", images[i], adapter.format_prompt(q), opts, adapter.target_delimiter)
            for i in range(args.items)
        ]
        engine = Engine(adapter, args.batch_size)
        engine.score(reqs[: args.batch_size])  # warm-up
        plain_forward_scores(adapter, reqs[0])
        t0 = time.perf_counter()
        fast = engine.score(reqs)
        t_engine = time.perf_counter() - t0
        t0 = time.perf_counter()
        slow = [plain_forward_scores(adapter, r) for r in reqs]
        t_plain = time.perf_counter() - t0
        same = all(argmax_first([s.logprob for s in f]) == argmax_first(p) for f, p in zip(fast, slow))
        delta = max(abs(s.logprob - p) for f, ps in zip(fast, slow) for s, p in zip(f, ps))
        print(f"{kind:<22}{t_plain:>9.2f}{t_engine:>10.2f}{t_plain / t_engine:>9.1f}×{str(same):>12}{delta:>10.1e}")


if __name__ == "__main__":
    main()

"""Minutes per epoch and trainable parameters of each encoder-update method, measured in one run.

Model: a random-weight HF CLIP whose vision tower has the benchmark size of `bench_engine.py` (ViT 6 layers
× 256 at 224 px, patch 14). Data: N generated shape images with colour captions. Each method trains one
epoch (batch 16, released schedule switched to per-step so every step runs at the peak LR); the table
gives seconds per epoch, the ratio to full fine-tuning measured in the same run, and the trainable /
total vision parameters each method reports.

    python benchmarks/bench_tune.py [--images 128] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from harness.clip.loading import load_clip
from harness.toy.tiny_clip import build_tiny_hf_clip, shapes_data
from harness.toy.tiny_llava import TinySpec
from harness.tune.config import METHODS, TuneConfig
from harness.tune.run import tune

BENCH_VISION = TinySpec(
    image_size=224, patch_size=14, vision_width=256, vision_layers=6, vision_heads=4, vision_mlp=1024
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip_dir = build_tiny_hf_clip(Path(tmp) / "clip", BENCH_VISION, embed_dim=256)
        data = shapes_data(args.images, size=224)
        rows = {}
        for method in METHODS:
            cfg = TuneConfig(
                method=method,
                epochs=1,
                lr=1e-4,
                batch_size=16,
                importance_samples=args.images,
                schedule="per_step",
                augment="none",
                device=args.device,
            )
            model = load_clip(str(clip_dir), device=args.device)
            t0 = time.perf_counter()
            record = tune(model, data, cfg, Path(tmp) / method, task="bench", progress=False)
            seconds = time.perf_counter() - t0
            params = record["parameters"]
            rows[method] = (seconds, params["trainable"], params["total"])
    print(
        f"device={args.device} images={args.images} threads={torch.get_num_threads()} "
        f"(one epoch; importance scoring included for LoRSU/SPU)"
    )
    print(f"{'method':<8}{'s/epoch':>9}{'min/epoch':>11}{'vs F-FT':>9}{'trainable':>12}{'total':>12}{'%':>7}")
    base = rows["fft"][0]
    for method, (sec, trainable, total) in rows.items():
        print(
            f"{method:<8}{sec:>9.2f}{sec / 60:>11.3f}{sec / base:>8.2f}×{trainable:>12,}{total:>12,}"
            f"{100 * trainable / total:>7.2f}"
        )


if __name__ == "__main__":
    main()

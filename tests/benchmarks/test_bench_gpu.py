"""The GPU benchmark: its code path runs end to end on tiny stand-in models on CPU, Qwen2.5-VL's rows included,
and its Qwen2.5-VL FLOP count (ViT windows, merger, image tokens) equals hand-computed and transformers' values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import Qwen2_5_VLForConditionalGeneration
from transformers.vision_utils import get_vision_window_index

from benchmarks.bench_gpu import QWEN_PX, image_size, vision_flops
from benchmarks.gpu_models_qwen import _tiny_tokenizer, build_qwen2_5_vl, qwen_config, vit_flops, window_lengths
from harness.toy.published_qwen import QWEN2_5_VL

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("llava", "minigptv2", "qwen2_5_vl")


def test_bench_gpu_tiny_runs_on_cpu():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "benchmarks/bench_gpu.py", "--scale", "tiny", "--items", "6", "--plain-items", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [ln.split() for ln in out.stdout.splitlines() if ln.startswith(tuple(f"{m} " for m in MODELS))]
    assert [(r[0], r[1]) for r in rows] == [(m, d) for m in MODELS for d in ("bfloat16", "float16")]
    for r in rows:
        engine, plain, speedup = float(r[2]), float(r[3]), float(r[4].rstrip("x"))
        assert engine > 0 and plain > 0 and abs(speedup - engine / plain) < 0.06 * speedup + 0.1
        assert float(r[7]) > 0  # TFLOP/item
        assert r[9] == "3/3" or int(r[9].split("/")[0]) >= 2  # picks agree save a half-precision near tie


@pytest.fixture(scope="module")
def qwen():
    return build_qwen2_5_vl("tiny", torch.float32, torch.device("cpu"))


@pytest.mark.parametrize("grid", [(24, 24), (8, 8), (10, 14), (26, 18), (4, 4), (2, 30)])
def test_window_lengths_equal_transformers_windows(qwen, grid):
    """The windows transformers' Qwen2.5-VL ViT attends within (cu_window_seqlens, in patches)."""
    window = QWEN2_5_VL["config"]["vision_config"]["window_size"]  # 112 px, kept by the tiny stand-in
    _, cu = get_vision_window_index(torch.tensor([[1, *grid]]), 2, window, 14)
    want = [n for n in (cu[1:] - cu[:-1]).tolist() if n]
    assert window_lengths(grid, qwen.vision_tower.config) == want
    assert sum(want) == grid[0] * grid[1]


def test_qwen_vit_flops_by_hand(qwen):
    """336 px: 24 x 24 patches, 144 image tokens, 3 x 3 windows of 8 x 8 patches. The tiny tower (width 32, MLP
    64, depth 4, full attention in blocks 1 and 3) has 80,000 parameters before the merger: patch embedding
    3 * 2 * 14 * 14 * 32 = 37,632 and 4 blocks of 10,592 (norms 64, qkv 3,168, proj 1,056, gate and up 4,224,
    down 2,080); the merger 24,800 (norm 32, 128x128 + 128, 128x64 + 64)."""
    image = Image.new("RGB", (QWEN_PX, QWEN_PX))
    assert image_size(qwen) == 336 and qwen.image_token_count(image) == 144
    assert window_lengths((24, 24), qwen.vision_tower.config) == [64] * 9
    dense = 2 * 80_000 * 576 + 2 * 24_800 * 144
    attention = 4 * 32 * (2 * 576**2 + 2 * 9 * 64**2)
    assert vit_flops(qwen.vision_tower, (24, 24)) == dense + attention == 193_674_240
    assert vision_flops(qwen, image) == 193_674_240  # the grid as the processor gives it for the item's image


def test_full_config_is_the_published_one():
    """Full scale: every published size and the M-RoPE split; the model builds (meta device, no memory)."""
    config = qwen_config("full", _tiny_tokenizer())
    text, vision = config.text_config, config.vision_config
    for key, want in QWEN2_5_VL["config"]["text_config"].items():
        if key not in ("rope_theta", "mrope_section", "sliding_window", "bos_token_id"):
            assert getattr(text, key) == want, key
    assert text.rope_parameters["mrope_section"] == [16, 24, 24] and text.rope_parameters["rope_theta"] == 1e6
    for key, want in QWEN2_5_VL["config"]["vision_config"].items():
        assert getattr(vision, key) == want, key
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(config)
    assert model.lm_head.weight.shape == (152064, 3584) and len(model.model.language_model.layers) == 28
    assert len(model.model.visual.blocks) == 32 and model.model.visual.merger.mlp[-1].out_features == 3584

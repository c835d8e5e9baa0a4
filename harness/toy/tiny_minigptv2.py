"""Tiny MiniGPT-v2 files in the official layouts: a Llama HF directory, `minigptv2_checkpoint.pth`
(`{"model": llama_proj.* + LoRA in peft-0.2 names}`) and a LAVIS-named `eva_vit_g.pth` (one extra block,
a smaller position grid), so tests run the real loading code."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import Blip2VisionConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from harness.adapters.minigptv2 import VISION_CONFIG_FILE
from harness.toy.tiny_llava import small_llama_config, spread_weights
from harness.toy.tokenizer import train_tokenizer


@dataclass(frozen=True)
class TinyMiniGPTv2Spec:
    image_size: int = 32
    eva_grid_size: int = 16  # the released EVA is at 224 px; the tower at 448 → positions interpolated
    patch_size: int = 8
    vision_width: int = 32
    vision_layers: int = 2  # blocks in the tower; the EVA file holds one more
    vision_heads: int = 2
    vision_mlp: int = 80
    text_width: int = 48
    text_layers: int = 2
    text_heads: int = 4
    text_mlp: int = 96
    lora_r: int = 64
    max_positions: int = 512
    rms_norm_eps: float = 1e-6
    seed: int = 0


def build_tiny_minigptv2(
    out: Path, spec: TinyMiniGPTv2Spec = TinyMiniGPTv2Spec(), tok: PreTrainedTokenizerBase | None = None
) -> dict[str, Path]:
    """`tok`: the Llama tokenizer to ship (default: one trained on the toy corpus)."""
    out = Path(out)
    g = torch.Generator().manual_seed(spec.seed)
    llama_dir = out / "llama"
    if tok is None:
        with tempfile.TemporaryDirectory() as tmp:
            tok = train_tokenizer(Path(tmp))
    cfg = small_llama_config(
        tok,
        spec.text_width,
        spec.text_mlp,
        spec.text_layers,
        spec.text_heads,
        max_positions=spec.max_positions,
        rms_norm_eps=spec.rms_norm_eps,
    )
    torch.manual_seed(spec.seed)
    llama = LlamaForCausalLM(cfg)
    spread_weights(llama, spec.seed)
    llama.save_pretrained(llama_dir)
    tok.save_pretrained(llama_dir)
    Blip2VisionConfig(
        hidden_size=spec.vision_width,
        intermediate_size=spec.vision_mlp,
        num_hidden_layers=spec.vision_layers,
        num_attention_heads=spec.vision_heads,
        patch_size=spec.patch_size,
        image_size=spec.image_size,
        hidden_act="gelu",
        layer_norm_eps=1e-6,
        qkv_bias=True,
    ).to_json_file(llama_dir / VISION_CONFIG_FILE)

    def rnd(*shape: int, scale: float | None = None) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * (scale if scale is not None else shape[-1] ** -0.5)

    w, m = spec.vision_width, spec.vision_mlp
    grid = spec.eva_grid_size // spec.patch_size
    eva = {
        "cls_token": rnd(1, 1, w, scale=0.5),
        "pos_embed": rnd(1, grid * grid + 1, w, scale=0.5),
        "patch_embed.proj.weight": rnd(w, 3, spec.patch_size, spec.patch_size, scale=0.1),
        "patch_embed.proj.bias": rnd(w, scale=0.1),
    }
    for i in range(spec.vision_layers + 1):
        b = f"blocks.{i}."
        eva |= {
            b + "norm1.weight": 1 + rnd(w, scale=0.1),
            b + "norm1.bias": rnd(w, scale=0.1),
            b + "attn.qkv.weight": rnd(3 * w, w),
            b + "attn.q_bias": rnd(w, scale=0.1),
            b + "attn.v_bias": rnd(w, scale=0.1),
            b + "attn.proj.weight": rnd(w, w),
            b + "attn.proj.bias": rnd(w, scale=0.1),
            b + "norm2.weight": 1 + rnd(w, scale=0.1),
            b + "norm2.bias": rnd(w, scale=0.1),
            b + "mlp.fc1.weight": rnd(m, w),
            b + "mlp.fc1.bias": rnd(m, scale=0.1),
            b + "mlp.fc2.weight": rnd(w, m),
            b + "mlp.fc2.bias": rnd(w, scale=0.1),
        }
    eva_path = out / "eva_vit_g.pth"
    torch.save(eva, eva_path)

    h, r = spec.text_width, spec.lora_r
    model = {"llama_proj.weight": rnd(h, 4 * w), "llama_proj.bias": rnd(h, scale=0.1)}
    for i in range(spec.text_layers):
        for proj in ("q_proj", "v_proj"):
            base = f"llama_model.base_model.model.model.layers.{i}.self_attn.{proj}."
            model[base + "lora_A.weight"] = rnd(r, h)
            model[base + "lora_B.weight"] = rnd(h, r, scale=0.05)
    ckpt_path = out / "minigptv2_checkpoint.pth"
    torch.save({"model": model, "epoch": 3, "optimizer": {"state": {}, "param_groups": []}}, ckpt_path)
    return {"model": llama_dir, "minigptv2_ckpt": ckpt_path, "eva_ckpt": eva_path}

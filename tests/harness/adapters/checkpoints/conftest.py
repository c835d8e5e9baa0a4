"""Tiny randomised CLIP models (open_clip and transformers) shared by the checkpoint tests.

Helpers are handed out through the `kit` fixture (no test-package imports needed).
"""

from __future__ import annotations

from types import SimpleNamespace

import open_clip
import pytest
import torch
from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModel

# One geometry for the open_clip / HF pairs: 3 blocks, width 64, 2 heads, patch 8, 32 px (4x4 grid).
GEOM = dict(layers=3, width=64, heads=2, patch=8, image=32, mlp=128)


def randomize_(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial values everywhere (LayerNorms, class/position embeddings too) so a wrong
    mapping changes the outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=gen)
            if p.dim() >= 2:
                p.copy_(r * p[0].numel() ** -0.5)
            elif name.endswith("weight") or name.endswith("gamma"):
                p.copy_(1.0 + 0.2 * r)  # normalisation scales
            else:
                p.copy_(0.3 * r)  # biases, class embedding, logit scale
    return module


def make_open_clip(layers: int = 3, width: int = 64, patch: int = 8, image: int = 32, seed: int = 0) -> torch.nn.Module:
    vision = open_clip.model.CLIPVisionCfg(
        layers=layers, width=width, head_width=32, patch_size=patch, image_size=image, mlp_ratio=2.0
    )
    text = open_clip.model.CLIPTextCfg(context_length=8, vocab_size=50, width=32, heads=2, layers=1)
    model = open_clip.model.CLIP(embed_dim=16, vision_cfg=vision, text_cfg=text, quick_gelu=True)
    return randomize_(model, seed).eval()


def vision_config(
    layers: int = 3, width: int = 64, heads: int = 2, patch: int = 8, image: int = 32, mlp: int = 128
) -> CLIPVisionConfig:
    return CLIPVisionConfig(
        hidden_size=width,
        intermediate_size=mlp,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        image_size=image,
        patch_size=patch,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        projection_dim=16,
    )


def make_tower(seed: int = 123, **geom: int) -> CLIPVisionModel:
    """A transformers CLIPVisionModel (LLaVA's tower type) with its own random weights."""
    torch.manual_seed(seed)
    return CLIPVisionModel(vision_config(**geom)).eval()


def make_hf_clip(seed: int = 7, **geom: int) -> CLIPModel:
    text = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        vocab_size=50,
        max_position_embeddings=8,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_act="quick_gelu",
    )
    config = CLIPConfig(text_config=text, vision_config=vision_config(**geom).to_dict(), projection_dim=16)
    return randomize_(CLIPModel(config), seed).eval()


def open_clip_blocks(model: torch.nn.Module, pixels: torch.Tensor) -> list[torch.Tensor]:
    """Output of every vision block of an open_clip model, as [batch, tokens, width]."""
    outs: list[torch.Tensor] = []
    transformer = model.visual.transformer
    hooks = [b.register_forward_hook(lambda _m, _i, o: outs.append(o)) for b in transformer.resblocks]
    try:
        with torch.no_grad():
            model.encode_image(pixels)
    finally:
        for h in hooks:
            h.remove()
    if not getattr(transformer, "batch_first", True):
        outs = [o.permute(1, 0, 2) for o in outs]
    return outs


def tower_hidden(tower: CLIPVisionModel, pixels: torch.Tensor):
    with torch.no_grad():
        return tower(pixel_values=pixels, output_hidden_states=True)


def assert_matches_open_clip(
    tower: CLIPVisionModel, model: torch.nn.Module, pixels: torch.Tensor, atol: float = 1e-5
) -> None:
    """Every block output (hidden_states[1:], so [-2] included) and the projected CLS match."""
    ref = open_clip_blocks(model, pixels)
    out = tower_hidden(tower, pixels)
    assert len(out.hidden_states) == len(ref) + 1
    for i, r in enumerate(ref):
        torch.testing.assert_close(out.hidden_states[i + 1], r, atol=atol, rtol=0)
    torch.testing.assert_close(out.hidden_states[-2], ref[-2], atol=atol, rtol=0)
    with torch.no_grad():
        projected = model.encode_image(pixels)
    torch.testing.assert_close(out.pooler_output @ model.visual.proj, projected, atol=atol, rtol=0)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_identical(module: torch.nn.Module, snap: dict[str, torch.Tensor]) -> None:
    state = module.state_dict()
    assert state.keys() == snap.keys()
    for k, v in snap.items():
        assert state[k].dtype == v.dtype and torch.equal(state[k], v), k


# --- a hand-made OpenAI/open_clip ViT state dict (width 4, one block numbered 1) -------------
VIT_W = 4
VIT_SIMPLE = {
    "class_embedding": "embeddings.class_embedding",
    "positional_embedding": "embeddings.position_embedding.weight",
    "conv1.weight": "embeddings.patch_embedding.weight",
    "ln_pre.weight": "pre_layrnorm.weight",
    "ln_pre.bias": "pre_layrnorm.bias",
    "ln_post.weight": "post_layernorm.weight",
    "ln_post.bias": "post_layernorm.bias",
}
VIT_BLOCK = {
    "ln_1.weight": "layer_norm1.weight",
    "ln_1.bias": "layer_norm1.bias",
    "ln_2.weight": "layer_norm2.weight",
    "ln_2.bias": "layer_norm2.bias",
    "attn.out_proj.weight": "self_attn.out_proj.weight",
    "attn.out_proj.bias": "self_attn.out_proj.bias",
    "mlp.c_fc.weight": "mlp.fc1.weight",
    "mlp.c_fc.bias": "mlp.fc1.bias",
    "mlp.c_proj.weight": "mlp.fc2.weight",
    "mlp.c_proj.bias": "mlp.fc2.bias",
}


def vit_sd(prefix: str) -> dict[str, torch.Tensor]:
    sd = {prefix + n: torch.randn(VIT_W) for n in VIT_SIMPLE}
    sd.update({f"{prefix}transformer.resblocks.1.{n}": torch.randn(VIT_W) for n in VIT_BLOCK})
    rows = 3 * VIT_W
    sd[f"{prefix}transformer.resblocks.1.attn.in_proj_weight"] = torch.arange(
        rows * VIT_W, dtype=torch.float32
    ).reshape(rows, VIT_W)
    sd[f"{prefix}transformer.resblocks.1.attn.in_proj_bias"] = torch.arange(rows, dtype=torch.float32)
    return sd


def check_vit_mapping(sd: dict[str, torch.Tensor], prefix: str, out: dict[str, torch.Tensor]) -> None:
    """Exact target names; renamed tensors are the same objects; q/k/v are row thirds of in_proj."""
    expected = {prefix + k: v for k, v in VIT_SIMPLE.items()}
    expected.update({f"{prefix}transformer.resblocks.1.{k}": f"encoder.layers.1.{v}" for k, v in VIT_BLOCK.items()})
    fused = [f"encoder.layers.1.self_attn.{p}_proj.{t}" for p in "qkv" for t in ("weight", "bias")]
    assert set(out) == set(expected.values()) | set(fused)
    for src, dst in expected.items():
        assert out[dst] is sd[src], dst
    w = sd[f"{prefix}transformer.resblocks.1.attn.in_proj_weight"]
    b = sd[f"{prefix}transformer.resblocks.1.attn.in_proj_bias"]
    for i, p in enumerate("qkv"):
        rows = slice(i * VIT_W, (i + 1) * VIT_W)
        assert torch.equal(out[f"encoder.layers.1.self_attn.{p}_proj.weight"], w[rows])
        assert torch.equal(out[f"encoder.layers.1.self_attn.{p}_proj.bias"], b[rows])
        assert out[f"encoder.layers.1.self_attn.{p}_proj.weight"].shape == (VIT_W, VIT_W)


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(
        GEOM=GEOM,
        randomize_=randomize_,
        make_open_clip=make_open_clip,
        vision_config=vision_config,
        make_tower=make_tower,
        make_hf_clip=make_hf_clip,
        open_clip_blocks=open_clip_blocks,
        tower_hidden=tower_hidden,
        assert_matches_open_clip=assert_matches_open_clip,
        snapshot=snapshot,
        assert_identical=assert_identical,
        vit_sd=vit_sd,
        check_vit_mapping=check_vit_mapping,
    )


@pytest.fixture
def pixels() -> torch.Tensor:
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(99))

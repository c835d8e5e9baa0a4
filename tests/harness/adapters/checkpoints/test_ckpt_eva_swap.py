"""EVA-CLIP checkpoints (open_clip timm trunk, original EVA-CLIP, LAVIS eva_vit_g) swapped into MiniGPT-v2's
EVA ViT-g tower reproduce timm's own penultimate-block output."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from timm.models.eva import Eva
from transformers import Blip2VisionConfig, Blip2VisionModel

from harness.adapters.checkpoints import EncoderCheckpointError, swap_encoder
from harness.adapters.checkpoints.eva_lavis import eva_to_lavis, lavis_to_blip2

WIDTH, DEPTH, MLP, PATCH = 32, 3, 80, 8


def timm_eva(img_size: int = 32, seed: int = 0) -> Eva:
    torch.manual_seed(seed)
    m = Eva(
        img_size=img_size,
        patch_size=PATCH,
        embed_dim=WIDTH,
        depth=DEPTH,
        num_heads=2,
        mlp_ratio=MLP / WIDTH,
        qkv_bias=True,
        num_classes=16,
        global_pool="token",
        use_rot_pos_emb=False,
    ).eval()
    with torch.no_grad():  # non-trivial norms, biases and embeddings so a wrong mapping shows
        for p in m.parameters():
            p.add_(torch.randn_like(p) * (0.2 if p.dim() < 2 else 0.05))
    return m


def tower(image_size: int = 32) -> Blip2VisionModel:
    cfg = Blip2VisionConfig(
        hidden_size=WIDTH,
        intermediate_size=MLP,
        num_hidden_layers=DEPTH - 1,
        num_attention_heads=2,
        patch_size=PATCH,
        image_size=image_size,
        hidden_act="gelu",
        layer_norm_eps=1e-6,
        qkv_bias=True,
    )
    return Blip2VisionModel(cfg).eval()


def penultimate(m: Eva, x: torch.Tensor) -> torch.Tensor:
    out = {}
    h = m.blocks[DEPTH - 2].register_forward_hook(lambda mod, i, o: out.setdefault("x", o))
    with torch.no_grad():
        m(x)
    h.remove()
    return out["x"]


LAYOUTS = {
    "open_clip": lambda sd: (
        {"visual.trunk." + k: v for k, v in sd.items()}
        | {"text.token_embedding.weight": torch.zeros(5, 4), "logit_scale": torch.ones(())}
    ),
    "eva_clip": lambda sd: {"visual." + k: v for k, v in sd.items()} | {"text.ln_final.weight": torch.ones(4)},
    "lavis": lambda sd: {k: v for k, v in sd.items() if not k.startswith(("head.", "norm."))},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_tower_reproduces_timm_penultimate_block(layout, tmp_path):
    src = timm_eva()
    path = tmp_path / f"{layout}.pt"
    torch.save(LAYOUTS[layout](src.state_dict()), path)
    t = tower()
    report = swap_encoder(t, path)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        got = t(pixel_values=x, output_hidden_states=True).hidden_states[-1]
    assert (got - penultimate(src, x)).abs().max() < 1e-5
    assert report.tensors_replaced == report.tensors_total - 2  # all but ln_vision (post_layernorm)
    assert any("dropped block 2 of 3" in n for n in report.notes)
    if layout == "open_clip":
        assert "logit_scale" in report.ignored


def test_positions_resized_like_lavis_and_split_qkv_fused(tmp_path):
    src = timm_eva(img_size=16)  # a 2x2 grid, the tower has 4x4 (as 224 px → 448 px)
    sd = src.state_dict()
    for i in range(DEPTH):  # a fine-tune saved with separate q/k/v projections
        w = sd.pop(f"blocks.{i}.attn.qkv.weight")
        for name, part in zip("qkv", w.chunk(3)):
            sd[f"blocks.{i}.attn.{name}_proj.weight"] = part
    path = tmp_path / "e.pt"
    torch.save({"visual." + k: v for k, v in sd.items()}, path)
    t = tower(32)
    report = swap_encoder(t, path)
    pos = src.pos_embed.detach()
    grid = (
        F.interpolate(
            pos[:, 1:].reshape(1, 2, 2, WIDTH).permute(0, 3, 1, 2), size=(4, 4), mode="bicubic", align_corners=False
        )
        .permute(0, 2, 3, 1)
        .reshape(1, 16, WIDTH)
    )
    got = t.embeddings.position_embedding.detach()
    assert torch.allclose(got[:, 1:], grid, atol=1e-6) and torch.equal(got[:, :1], pos[:, :1])
    assert torch.equal(t.encoder.layers[0].self_attn.qkv.weight, src.blocks[0].attn.qkv.weight)
    assert any("position grid 2x2 -> 4x4" in n for n in report.notes)


def test_fp16_file_positions_are_resized_in_fp32_and_kept_in_fp32(tmp_path):
    """An fp16 eva_vit_g.pth: the resized table is the fp32 bicubic resize of the fp16 values, not rounded back
    to fp16 before it reaches an fp32 tower (the release keeps the resized table in fp32)."""
    src = timm_eva(img_size=16, seed=3)
    sd = {k: v.half() for k, v in src.state_dict().items() if not k.startswith(("head.", "norm."))}
    path = tmp_path / "eva_vit_g.pth"
    torch.save(sd, path)
    t = tower(32)
    swap_encoder(t, path)
    pos = sd["pos_embed"].float()
    want = (
        F.interpolate(
            pos[:, 1:].reshape(1, 2, 2, WIDTH).permute(0, 3, 1, 2), size=(4, 4), mode="bicubic", align_corners=False
        )
        .permute(0, 2, 3, 1)
        .reshape(1, 16, WIDTH)
    )
    got = t.embeddings.position_embedding.detach()
    assert got.dtype == torch.float32
    assert torch.equal(got[:, 1:], want) and torch.equal(got[:, :1], pos[:, :1])
    assert not torch.equal(want.half().float(), want)  # fp16 rounding would have been visible


def test_pure_mappings():
    sd = {
        "visual.trunk.blocks.0.attn.q_bias": torch.ones(2),
        "visual.trunk.blocks.0.attn.v_bias": 2 * torch.ones(2),
        "visual.trunk.blocks.0.attn.qkv.weight": torch.zeros(6, 2),
        "visual.trunk.norm.weight": torch.ones(2),
        "visual.trunk.head.weight": torch.ones(3, 2),
        "visual.trunk.cls_token": torch.ones(1, 1, 2),
    }
    lavis = eva_to_lavis(sd)
    assert sorted(lavis) == ["blocks.0.attn.q_bias", "blocks.0.attn.qkv.weight", "blocks.0.attn.v_bias", "cls_token"]
    hf = lavis_to_blip2(lavis)
    assert torch.equal(hf["encoder.layers.0.self_attn.qkv.bias"], torch.tensor([1.0, 1, 0, 0, 2, 2]))
    assert sorted(hf) == [
        "embeddings.class_embedding",
        "encoder.layers.0.self_attn.qkv.bias",
        "encoder.layers.0.self_attn.qkv.weight",
    ]


def test_wrong_width_is_refused_and_the_tower_is_untouched(tmp_path):
    src = Eva(img_size=32, patch_size=PATCH, embed_dim=48, depth=DEPTH, num_heads=2, mlp_ratio=2.0, num_classes=0)
    path = tmp_path / "w.pt"
    torch.save(src.state_dict(), path)
    t = tower()
    before = {k: v.clone() for k, v in t.state_dict().items()}
    with pytest.raises(EncoderCheckpointError, match="width: checkpoint hidden size is 48, tower's is 32"):
        swap_encoder(t, path)
    assert all(torch.equal(before[k], v) for k, v in t.state_dict().items())


def test_clip_checkpoint_refused_by_the_eva_tower(tmp_path):
    from harness.toy.tiny_llava import build_tiny_open_clip_checkpoint

    path = build_tiny_open_clip_checkpoint(tmp_path / "clip.pt")
    with pytest.raises(EncoderCheckpointError, match="the MiniGPT-v2 / BLIP-2 / InstructBLIP tower is an EVA ViT-g"):
        swap_encoder(tower(), path)

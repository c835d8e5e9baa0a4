"""SigLIP towers: HF SigLIP and open_clip/timm SigLIP checkpoints reproduce their source model's forward."""

from __future__ import annotations

import pytest
import timm
import torch
from safetensors.torch import save_file
from transformers import (
    SiglipConfig,
    SiglipModel,
    SiglipTextConfig,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from harness.adapters.checkpoints import EncoderCheckpointError, swap_encoder
from tests.harness.adapters.checkpoints.conftest import make_open_clip, randomize_

GEOM = dict(width=32, layers=3, heads=2, patch=8, image=32, mlp=64)


def vision_config(layers: int = 3, head: bool = True, **kw) -> SiglipVisionConfig:
    return SiglipVisionConfig(
        hidden_size=GEOM["width"],
        intermediate_size=GEOM["mlp"],
        num_hidden_layers=layers,
        num_attention_heads=GEOM["heads"],
        image_size=GEOM["image"],
        patch_size=GEOM["patch"],
        vision_use_head=head,
        **kw,
    )


def tower(layers: int = 3, head: bool = True, seed: int = 0) -> SiglipVisionModel:
    return randomize_(SiglipVisionModel(vision_config(layers, head)), seed).eval()


def timm_siglip(layers: int = 3, act: str | None = "gelu_tanh", seed: int = 1) -> torch.nn.Module:
    """The trunk open_clip builds for SigLIP-SO400M/384 (pool 'map', no projection), at tiny sizes;
    act=None keeps timm's own choice for that model (exact GELU)."""
    kw = {"act_layer": act} if act else {}
    m = timm.create_model(
        "vit_so400m_patch14_siglip_384",
        pretrained=False,
        num_classes=0,
        depth=layers,
        embed_dim=GEOM["width"],
        num_heads=GEOM["heads"],
        img_size=GEOM["image"],
        patch_size=GEOM["patch"],
        mlp_ratio=GEOM["mlp"] / GEOM["width"],
        **kw,
    )
    return randomize_(m, seed).eval()


def pixels(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, GEOM["image"], GEOM["image"], generator=torch.Generator().manual_seed(seed))


def open_clip_layout(trunk: torch.nn.Module) -> dict[str, torch.Tensor]:
    """open_clip's CustomTextCLIP state dict: the timm trunk under visual.trunk., plus text tower and scales."""
    sd = {"visual.trunk." + k: v for k, v in trunk.state_dict().items()}
    sd.update(
        {
            "text.token_embedding.weight": torch.randn(50, 32),
            "logit_scale": torch.tensor(2.3),
            "logit_bias": torch.tensor(-10.0),
        }
    )
    return sd


@pytest.mark.parametrize("layout", ["open_clip", "timm"])
def test_timm_siglip_reproduces_timm(layout, tmp_path):
    src = timm_siglip(act="gelu_tanh")  # the activation the transformers tower computes: same function
    sd = open_clip_layout(src) if layout == "open_clip" else src.state_dict()
    path = tmp_path / "siglip.pt"
    torch.save(sd, path)
    t = tower()
    x = pixels()
    with torch.no_grad():
        before = t(pixel_values=x).last_hidden_state
        assert not torch.allclose(before, src.forward_features(x), atol=1e-3)
        report = swap_encoder(t, path)
        out = t(pixel_values=x)
        ref = src.forward_features(x)
        assert (out.last_hidden_state - ref).abs().max() < 1e-5
        assert (out.pooler_output - src.forward_head(ref)).abs().max() < 1e-5
    assert report.format == "open_clip_siglip" and report.tower == "SigLIP ViT"
    assert report.tensors_replaced == report.tensors_total
    assert any("exact GELU" in n for n in report.notes)
    if layout == "open_clip":
        assert {"logit_scale", "logit_bias", "text.token_embedding.weight"} <= set(report.ignored)


def test_exact_gelu_trunk_differs_by_design_and_the_report_says_so(tmp_path):
    src = timm_siglip(act=None)
    assert isinstance(src.blocks[0].mlp.act, torch.nn.GELU) and src.blocks[0].mlp.act.approximate == "none"
    path = tmp_path / "so400m.pt"
    torch.save(open_clip_layout(src), path)
    t = tower()
    report = swap_encoder(t, path)
    x = pixels()
    with torch.no_grad():
        diff = (t(pixel_values=x).last_hidden_state - src.forward_features(x)).abs().max().item()
    print(f"timm exact GELU vs transformers tanh GELU, tiny random SigLIP: max |diff| = {diff:.3g}")
    assert 0 < diff < 1e-2
    assert any("exact GELU" in n and "tanh" in n for n in report.notes)


@pytest.mark.parametrize("whole", [False, True])
def test_hf_siglip_reproduces_transformers(whole, tmp_path):
    if whole:  # SiglipModel state dict (vision_model.*, text_model.*, logit_scale/bias) as safetensors
        cfg = SiglipConfig(
            text_config=SiglipTextConfig(
                vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2
            ),
            vision_config=vision_config(),
        )
        full = randomize_(SiglipModel(cfg), 3).eval()
        src = full.vision_model
        path = tmp_path / "siglip.safetensors"
        save_file({k: v.contiguous() for k, v in full.state_dict().items()}, str(path))
    else:
        src = tower(seed=3)
        path = tmp_path / "vision"
        src.save_pretrained(path)
    t = tower()
    report = swap_encoder(t, path)
    x = pixels()
    with torch.no_grad():
        assert torch.equal(t(pixel_values=x).last_hidden_state, src(pixel_values=x).last_hidden_state)
    assert report.format == "hf_siglip" and report.tensors_replaced == report.tensors_total
    assert not any("GELU" in n for n in report.notes)
    if whole:
        assert "logit_bias" in report.ignored and any(k.startswith("text_model.") for k in report.ignored)


def test_one_block_deeper_checkpoint_loses_its_last_block(tmp_path):
    src = timm_siglip(layers=4)
    path = tmp_path / "deep.pt"
    torch.save(open_clip_layout(src), path)
    t = tower(layers=3, head=False)  # LLaVA-OneVision's tower: one block less, no pooling head
    report = swap_encoder(t, path)
    assert any("dropped block 3 of 4" in n for n in report.notes)
    assert any(n.startswith("head.") for n in report.ignored)
    x = pixels()
    with torch.no_grad():
        h = t(pixel_values=x, output_hidden_states=True).hidden_states[-1]
        ref = src.patch_embed(x) + src.pos_embed
        for blk in src.blocks[:3]:
            ref = blk(ref)
    assert (h - ref).abs().max() < 1e-5


@pytest.mark.parametrize("layers", [2, 5])
def test_other_depth_mismatches_are_refused(layers, tmp_path):
    path = tmp_path / "d.pt"
    torch.save(open_clip_layout(timm_siglip(layers=layers)), path)
    t = tower()
    before = {k: v.clone() for k, v in t.state_dict().items()}
    with pytest.raises(EncoderCheckpointError, match=f"depth: checkpoint has {layers} blocks, tower has 3"):
        swap_encoder(t, path)
    assert all(torch.equal(v, before[k]) for k, v in t.state_dict().items())


def test_wrong_width_names_keys_and_shapes(tmp_path):
    sd = open_clip_layout(timm_siglip())
    sd["visual.trunk.blocks.1.mlp.fc1.weight"] = torch.randn(48, 32)
    path = tmp_path / "w.pt"
    torch.save(sd, path)
    with pytest.raises(
        EncoderCheckpointError,
        match=r"encoder\.layers\.1\.mlp\.fc1\.weight: expected \(64, 32\), "
        r"found \(48, 32\)",
    ):
        swap_encoder(tower(), path)


def test_families_do_not_cross(tmp_path):
    clip = tmp_path / "clip.pt"
    torch.save(make_open_clip(width=32).state_dict(), clip)
    with pytest.raises(EncoderCheckpointError, match="CLIP ViT checkpoint; the LLaVA-OneVision tower is a SigLIP"):
        swap_encoder(tower(), clip)
    sig = tmp_path / "sig.pt"
    torch.save(open_clip_layout(timm_siglip()), sig)
    from transformers import CLIPVisionConfig, CLIPVisionModel

    clip_tower = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=3,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        )
    )
    with pytest.raises(EncoderCheckpointError, match="SigLIP ViT checkpoint; the LLaVA tower is a CLIP ViT"):
        swap_encoder(clip_tower, sig)
    from tests.harness.adapters.checkpoints.test_ckpt_eva_swap import timm_eva

    eva = tmp_path / "eva.pt"
    torch.save({"visual.trunk." + k: v for k, v in timm_eva().state_dict().items()}, eva)
    with pytest.raises(EncoderCheckpointError, match="EVA-CLIP checkpoint; the LLaVA-OneVision tower is a SigLIP"):
        swap_encoder(tower(), eva)


TINY_SIGLIP = "harness_test_tiny_siglip"


def _open_clip_siglip(tmp_path, seed: int = 4) -> torch.nn.Module:
    """A real open_clip `CustomTextCLIP` SigLIP (timm ViT trunk, MAP pool, no projection) at tiny sizes, built
    from a model config like open_clip's ViT-SO400M-14-SigLIP-384.json; tanh GELU so it computes the tower's
    function."""
    import inspect
    import json

    import open_clip
    from timm.models import register_model
    from timm.models.vision_transformer import VisionTransformer

    if TINY_SIGLIP not in timm.list_models(TINY_SIGLIP):
        accepted = set(inspect.signature(VisionTransformer.__init__).parameters)

        def harness_test_tiny_siglip(pretrained: bool = False, **kwargs) -> VisionTransformer:
            args = dict(
                img_size=GEOM["image"],
                patch_size=GEOM["patch"],
                embed_dim=GEOM["width"],
                depth=GEOM["layers"],
                num_heads=GEOM["heads"],
                mlp_ratio=GEOM["mlp"] / GEOM["width"],
                class_token=False,
                global_pool="map",
                act_layer="gelu_tanh",
            )
            args.update({k: v for k, v in kwargs.items() if k in accepted})
            return VisionTransformer(**args)

        register_model(harness_test_tiny_siglip)
    cfg = {
        "embed_dim": GEOM["width"],
        "init_logit_bias": -10,
        "custom_text": True,
        "vision_cfg": {
            "image_size": GEOM["image"],
            "timm_model_name": TINY_SIGLIP,
            "timm_model_pretrained": False,
            "timm_pool": "map",
            "timm_proj": "none",
        },
        "text_cfg": {
            "context_length": 16,
            "vocab_size": 64,
            "width": 32,
            "heads": 2,
            "layers": 1,
            "no_causal_mask": True,
            "proj_bias": True,
            "pool_type": "last",
            "norm_kwargs": {"eps": 1e-6},
        },
    }
    path = tmp_path / "tiny_siglip_oc.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    return randomize_(open_clip.create_model("tiny_siglip_oc"), seed).eval()


def test_open_clip_custom_text_clip_siglip_reproduces_open_clip(tmp_path):
    model = _open_clip_siglip(tmp_path)
    assert type(model).__name__ == "CustomTextCLIP"
    path = tmp_path / "open_clip_siglip.pt"
    torch.save(model.state_dict(), path)
    t = tower()
    report = swap_encoder(t, path)
    x = pixels(2)
    with torch.no_grad():
        got = t(pixel_values=x).pooler_output
        ref = model.encode_image(x)  # open_clip's own image embedding (trunk + MAP head, no projection)
    assert (got - ref).abs().max() < 1e-5
    assert report.format == "open_clip_siglip" and report.tensors_replaced == report.tensors_total
    assert {"logit_scale", "logit_bias", "text.token_embedding.weight"} <= set(report.ignored)

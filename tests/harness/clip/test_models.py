"""The common model interface on both families, and the open_clip <-> HF vision-tower key maps."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.checkpoints.openclip import map_vit_names
from harness.clip.keymap import hf_to_open_clip, open_clip_to_hf
from harness.clip.loading import load_clip, parse_spec
from harness.toy.tiny_clip import TINY_SPEC
from tests.harness.clip.fixtures import FAMILIES
from tests.harness.tune.util import quick_cfg, session_parts


@pytest.mark.parametrize("family", FAMILIES)
def test_interface_exposes_blocks_projection_and_norms(clip_specs, shapes, family):
    model = load_clip(clip_specs[family])
    blocks = model.blocks()
    assert len(blocks) == TINY_SPEC.vision_layers
    b = blocks[0]
    assert (b.heads, b.width, b.head_dim) == (4, 32, 8)
    assert b.fused == (family != "hf") and sum(t.shape[0] for t in b.qkv_tensors()) == 3 * b.width
    assert b.fc1.out_features == TINY_SPEC.vision_mlp and b.fc2.in_features == TINY_SPEC.vision_mlp
    assert len(b.qkv_bias) == (2 if family == "eva" else 1 if family == "vit" else 3)
    proj = model.projection()
    w = getattr(proj.owner, proj.name)
    assert w.shape == ((32, 24) if proj.transposed else (24, 32))
    assert len(model.layer_norms()) == 2 * len(blocks) + (1 if family == "eva" else 2)
    assert len(model.text_fc1()) == 1
    pixels = torch.stack([model.eval_transform(shapes.image(i)) for i in range(3)])
    assert model.encode_image(pixels).shape == (3, 24)
    assert model.encode_text(model.tokenize(["red", "a blue thing."])).shape == (2, 24)
    assert float(model.logit_scale()) == pytest.approx(1 / 0.07, rel=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_release_state_dict_round_trips(clip_specs, shapes, family):
    model = load_clip(clip_specs[family])
    sd = model.release_state_dict()
    assert "conv1.weight" in sd if family != "eva" else "trunk.patch_embed.proj.weight" in sd
    other = load_clip(clip_specs[family])
    with torch.no_grad():
        for p in other.visual.parameters():
            p.add_(0.1)
    other.load_release_state_dict(sd)
    pixels = torch.stack([model.eval_transform(shapes.image(i)) for i in range(3)])
    with torch.no_grad():
        assert torch.equal(model.encode_image(pixels), other.encode_image(pixels))


def test_key_maps_are_inverse_and_agree_with_the_swap_mapping(clip_specs):
    sd = load_clip(clip_specs["vit"]).release_state_dict()
    hf = open_clip_to_hf(sd)
    assert hf["visual_projection.weight"].shape == sd["proj"].t().shape
    back = hf_to_open_clip(hf)
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
    swap_names = map_vit_names({k: v for k, v in sd.items() if k != "proj"}, "")
    assert {f"vision_model.{k}" for k in swap_names} == set(hf) - {"visual_projection.weight"}
    bare = {k.removeprefix("vision_model."): v for k, v in hf.items()}  # CLIPVisionModel names
    assert set(hf_to_open_clip(bare)) == set(sd)
    with pytest.raises(ValueError, match="no open_clip name"):
        hf_to_open_clip({"vision_model.encoder.layers.0.self_attn.rotary.weight": torch.zeros(1)})


def test_hf_export_of_an_hf_model_matches_it(clip_specs, shapes):
    model = load_clip(clip_specs["hf"])
    hf = model.hf_vision_model().eval()
    pixels = torch.stack([model.eval_transform(shapes.image(i)) for i in range(3)])
    with torch.no_grad():
        torch.testing.assert_close(hf(pixel_values=pixels).image_embeds, model.encode_image(pixels), atol=1e-6, rtol=0)


def test_spec_parsing(tmp_path):
    assert parse_spec("open_clip:ViT-L-14-336@openai") == ("open_clip", "ViT-L-14-336@openai")
    assert parse_spec("EVA01-g-14@/x/eva.pt") == ("open_clip", "EVA01-g-14@/x/eva.pt")
    assert parse_spec(str(tmp_path)) == ("hf", str(tmp_path))
    assert parse_spec("openai/clip-vit-large-patch14-336") == ("hf", "openai/clip-vit-large-patch14-336")
    assert parse_spec("/cfg/tiny.json@/x.pt") == ("open_clip", "/cfg/tiny.json@/x.pt")


def test_too_many_heads_is_refused(clip_specs, shapes):
    model = load_clip(clip_specs["vit"])
    with pytest.raises(ValueError, match="top-k-heads 5 exceeds the 4 heads"):
        session_parts(model, shapes.subset(range(10)), quick_cfg("lorsu", top_k_heads=5))

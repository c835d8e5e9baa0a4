"""`check_tower_keys` with the family read off the tower's own names: what an open_clip CLIP (ViT or timm EVA)
tower would call before its strict load, so CoCa / FLAVA checkpoints are refused there by name as well."""

from __future__ import annotations

import pytest

from harness.clip.loading import load_clip
from harness.clip.tower_family import check_tower_keys, tower_family
from harness.errors import InvalidInput
from tests.harness.clip import coca_flava_fixtures as shared

coca_spec, flava_spec = shared.coca_spec, shared.flava_spec  # session fixtures


def test_each_tower_reads_its_own_family(coca_spec, flava_spec, clip_specs):
    assert tower_family(load_clip(coca_spec).net.visual.state_dict()) == "coca_vit"
    assert tower_family(load_clip(flava_spec).visual.state_dict()) == "flava_vit"
    assert tower_family(load_clip(clip_specs["vit"]).net.visual.state_dict()) == "clip_vit"
    assert tower_family(load_clip(clip_specs["eva"]).net.visual.state_dict()) == "eva_vit"


@pytest.mark.parametrize("kind", ["vit", "eva"])
def test_an_open_clip_clip_tower_takes_its_own_and_refuses_coca_and_flava(kind, coca_spec, flava_spec, clip_specs):
    clip = load_clip(clip_specs[kind])
    tower = clip.net.visual.state_dict()
    check_tower_keys(clip.release_state_dict(), tower, "an open_clip CLIP")  # its own export passes
    coca = {k.removeprefix("visual."): v for k, v in load_clip(coca_spec).release_state_dict().items()}
    with pytest.raises(InvalidInput, match=r"a CoCa ViT checkpoint \(format open_clip_coca\).*\['attn_pool\."):
        check_tower_keys(coca, tower, "an open_clip CLIP")
    with pytest.raises(InvalidInput, match=r"a FLAVA ViT checkpoint \(format hf_flava\).*\['image_model\."):
        check_tower_keys(load_clip(flava_spec).release_state_dict(), tower, "an open_clip CLIP")
    partial = dict(clip.release_state_dict())
    dropped = sorted(partial)[0]
    del partial[dropped]
    with pytest.raises(InvalidInput, match=f"does not fit an open_clip CLIP.*lacks: \\['{dropped}'"):
        check_tower_keys(partial, tower, "an open_clip CLIP")


def test_the_detector_tells_coca_and_flava_from_clip(coca_spec, flava_spec, clip_specs, tmp_path):
    from harness.adapters.checkpoints import check_encoder_file
    from harness.adapters.checkpoints.registry import detect_format

    assert check_encoder_file(coca_spec.rsplit("@", 1)[1]).name == "open_clip_coca"  # a whole CoCa state dict
    assert check_encoder_file(flava_spec.removeprefix("hf:")).name == "hf_flava"  # a FlavaModel directory
    clip = load_clip(clip_specs["vit"])
    assert detect_format(["visual." + k for k in clip.net.visual.state_dict()]).name == "open_clip"
    assert detect_format(clip.release_state_dict()).name == "lorsu"
    # HF ViTModel shares FLAVA's layer names without the `image_model.` prefix: not taken for FLAVA
    vit = ["embeddings.cls_token", "encoder.layer.0.attention.attention.query.weight"]
    assert detect_format(vit) is None
    assert detect_format(["flava." + "image_model.encoder.layer.0.attention.attention.query.weight"]).name == "hf_flava"

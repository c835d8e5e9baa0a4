"""CoCa in `--vlm clip`: zero-shot logits equal open_clip's own CoCa forward (`forward_intermediates`, itself
checked against `forward`), every method tunes it with the contrastive head, the export swaps back in (and changes
the scores), other families' checkpoints are refused."""

from __future__ import annotations

import json
import os

import open_clip
import pytest
import torch

from harness.adapters.checkpoints import EncoderCheckpointError, check_encoder_file
from harness.clip.coca import CocaClip
from harness.clip.evaluate import swap_clip_encoder
from harness.clip.loading import load_clip
from harness.clip.zeroshot import zero_shot_classify
from harness.errors import InvalidInput
from harness.toy.published_coca_flava import COCA
from tests.harness.clip import coca_flava_fixtures as shared
from tests.harness.clip.coca_flava_reference import CocaReference

coca_spec, flava_spec, colours = shared.coca_spec, shared.flava_spec, shared.colours  # session fixtures
coca_l14_spec = shared.coca_l14_spec


@pytest.mark.parametrize("name", ["coca_ViT-B-32", "coca_ViT-L-14"])
def test_zero_shot_equals_open_clip_coca_forward(name, coca_spec, coca_l14_spec, colours):
    spec = coca_spec if name == "coca_ViT-B-32" else coca_l14_spec
    model = load_clip(spec)
    assert isinstance(model, CocaClip) and model.family == "open_clip"
    images = [colours.image(i) for i in range(len(colours.labels))]
    res = zero_shot_classify(model, images, colours.class_names, colours.templates, labels=colours.labels)
    ref = CocaReference.from_spec(spec)(images, colours.class_names, colours.templates)
    assert torch.allclose(res.logits, ref, atol=1e-5)
    want = float((ref.argmax(1) == torch.tensor(colours.labels)).float().mean())
    assert res.accuracy["top1"] == pytest.approx(want, abs=1e-9)


def test_the_reference_features_are_coca_forwards(coca_spec, colours):
    """`CocaReference` reads `forward_intermediates`; `CoCa.forward` (with its decoder) gives the same features."""
    ref = CocaReference.from_spec(coca_spec)
    pixels = torch.stack([ref.preprocess(colours.image(i)) for i in range(4)])
    tokens = ref.tokenizer(["a red shape.", "a blue thing.", "a green", "yellow"])
    with torch.no_grad():
        full = ref.net(image=pixels, text=tokens)
        parts = ref.net.forward_intermediates(image=pixels, text=tokens, output_logit_scale_bias=True)
    assert full["logits"].shape[-1] == 49408  # the captioning decoder ran
    for key in ("image_features", "text_features", "logit_scale"):
        assert torch.allclose(full[key], parts[key], atol=1e-6), key


@pytest.mark.parametrize(("name", "patch"), [("coca_ViT-B-32", 32), ("coca_ViT-L-14", 14)])
def test_real_geometry_keeps_the_published_coca_layout(name, patch, coca_spec, coca_l14_spec):
    model = load_clip(coca_spec if name == "coca_ViT-B-32" else coca_l14_spec)
    vis = model.net.visual
    installed = os.path.join(os.path.dirname(open_clip.__file__), "model_configs", f"{name}.json")
    with open(installed) as f:
        assert json.load(f) == COCA[name]  # the published facts are the installed package's
    assert model.image_size == 224 and vis.conv1.kernel_size == (patch, patch)
    assert vis.positional_embedding.shape[0] == 1 + (224 // patch) ** 2
    pooler_heads = COCA[name]["vision_cfg"]["attn_pooler_heads"]
    assert vis.attn_pool.query.shape[0] == 256 and vis.attn_pool.attn.num_heads == pooler_heads
    assert model.net.text.vocab_size == 49408 and model.tokenize(["a"]).shape == (1, 76)
    assert model.hf_vision_model() is None and model.describe()["variant"] == "coca"


@pytest.mark.parametrize("method", ["lorsu", "lora", "ln", "fft", "spu"])
def test_methods_tune_coca_and_the_export_restores(coca_spec, colours, method, tmp_path):
    _, record, export = shared.tune_once(coca_spec, colours, tmp_path, method)
    losses = record["sessions"][0]["epoch_losses"]
    assert losses[-1] < losses[0]
    assert check_encoder_file(export).name == "open_clip_coca"
    released = torch.load(export, weights_only=True)["state_dict"]
    fresh = load_clip(coca_spec)
    before = {k: v.clone() for k, v in fresh.net.visual.state_dict().items()}
    fresh.load_release_state_dict(released)
    after = fresh.net.visual.state_dict()
    assert sorted(released) == sorted("visual." + k for k in after)
    assert all(torch.equal(after[k], released["visual." + k]) for k in after)
    assert any(not torch.equal(after[k], before[k]) for k in after)


@pytest.mark.parametrize("layout", ["export", "whole CoCa state dict"])
def test_swapping_the_tuned_tower_changes_the_scores(coca_spec, colours, layout, tmp_path):
    tuned, _, export = shared.tune_once(coca_spec, colours, tmp_path / "run")
    if layout != "export":
        export = tmp_path / "coca_full.pt"
        torch.save(tuned.net.state_dict(), export)
    images = [colours.image(i) for i in range(len(colours.labels))]

    def logits(m):
        return zero_shot_classify(m, images, colours.class_names, colours.templates).logits

    model = load_clip(coca_spec)
    base = logits(model)
    report = swap_clip_encoder(model, str(export))
    assert report["format"].startswith("open_clip visual")
    swapped = logits(model)
    assert not torch.allclose(swapped, base, atol=1e-3)
    assert torch.allclose(swapped, logits(tuned), atol=1e-5)


def test_other_families_are_refused_with_their_keys(coca_spec, flava_spec, clip_specs, tmp_path):
    coca = load_clip(coca_spec)
    clip = load_clip(clip_specs["vit"])
    torch.save(clip.net.state_dict(), tmp_path / "clip.pt")  # a whole open_clip CLIP checkpoint
    with pytest.raises(InvalidInput, match=r"a CLIP ViT checkpoint \(format lorsu\).*missing tower keys: \['attn_pool"):
        swap_clip_encoder(coca, str(tmp_path / "clip.pt"))
    with pytest.raises(
        InvalidInput, match=r"CLIP ViT checkpoint \(format lorsu\).*offending keys: \['transformer.resblocks.2."
    ):
        coca.load_release_state_dict(clip.release_state_dict())  # the CLIP release layout (a 32 px ViT)
    flava = load_clip(flava_spec)
    torch.save(flava.release_state_dict(), tmp_path / "flava.pt")
    with pytest.raises(InvalidInput, match=r"a FLAVA ViT checkpoint \(format hf_flava\).*image_model\."):
        swap_clip_encoder(coca, str(tmp_path / "flava.pt"))
    assert torch.equal(coca.net.visual.conv1.weight, load_clip(coca_spec).net.visual.conv1.weight)  # untouched
    torch.save(coca.release_state_dict(), tmp_path / "coca.pt")
    with pytest.raises(EncoderCheckpointError, match="this is a CoCa ViT checkpoint; the LLaVA tower is a CLIP ViT"):
        swap_clip_encoder(load_clip(clip_specs["hf"]), str(tmp_path / "coca.pt"))

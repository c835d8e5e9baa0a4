"""FLAVA in `--vlm clip`: zero-shot logits equal transformers' own `FlavaModel` forward read as FLAVA's global
contrastive head reads it, the methods tune it with that head, the export and a whole `FlavaModel` swap in through
the `hf_flava` format (and change the scores), CLIP/CoCa checkpoints are refused and FLAVA ones refused by CLIP."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import FlavaConfig

from harness.adapters.checkpoints import EncoderCheckpointError, check_encoder_file
from harness.clip.evaluate import swap_clip_encoder
from harness.clip.flava import FlavaClip
from harness.clip.loading import load_clip
from harness.clip.zeroshot import zero_shot_classify
from harness.errors import InvalidInput
from harness.toy.published_coca_flava import FLAVA
from harness.toy.real_geometry_coca_flava import build_flava
from harness.toy.real_parts import Vocabularies
from tests.harness.clip import coca_flava_fixtures as shared
from tests.harness.clip.coca_flava_reference import FlavaReference

coca_spec, flava_spec, colours = shared.coca_spec, shared.flava_spec, shared.colours  # session fixtures


def test_zero_shot_equals_transformers_flava_forward(flava_spec, colours):
    model = load_clip(flava_spec)
    assert isinstance(model, FlavaClip) and model.family == "flava"
    images = [colours.image(i) for i in range(len(colours.labels))]
    res = zero_shot_classify(model, images, colours.class_names, colours.templates, labels=colours.labels)
    ref = FlavaReference(flava_spec.removeprefix("hf:"))(images, colours.class_names, colours.templates)
    assert torch.allclose(res.logits, ref, atol=1e-5)
    want = float((ref.argmax(1) == torch.tensor(colours.labels)).float().mean())
    assert res.accuracy["top1"] == pytest.approx(want, abs=1e-9)


def test_published_facts_are_transformers_defaults_and_the_build_keeps_them(flava_spec):
    defaults = FlavaConfig().to_dict()
    pub = FLAVA["config"]
    for part in ("image_config", "text_config", "multimodal_config"):
        assert {k: defaults[part][k] for k in pub[part]} == pub[part], part
    codebook = defaults["image_codebook_config"]
    assert {k: codebook[k] for k in FLAVA["image_codebook_config"]} == FLAVA["image_codebook_config"]
    assert {k: defaults[k] for k in ("projection_dim", "hidden_size", "logit_scale_init_value")} == {
        k: pub[k] for k in ("projection_dim", "hidden_size", "logit_scale_init_value")
    }
    model = load_clip(flava_spec)
    cfg = model.net.config
    assert (cfg.image_config.image_size, cfg.image_config.patch_size, cfg.text_config.vocab_size) == (224, 16, 30522)
    assert float(model.logit_scale()) == pytest.approx(1 / 0.07, rel=1e-4)
    assert model.tokenize(["a red circle"])["input_ids"][0].tolist() == [
        101,
        1037,
        2417,
        4418,
        102,
    ]  # bert-base-uncased
    assert model.describe()["vision_heads"] == 2 and len(model.blocks()) == 2


def test_a_flava_for_pretraining_directory_loads_as_flava_full_is_published(flava_spec, colours, tmp_path):
    """facebook/flava-full is a FlavaForPreTraining: its codebook and heads are skipped, the rest read."""
    spec = build_flava(tmp_path / "pretraining", Vocabularies(shared.TOKENIZERS), pretraining=True)
    assert json.loads((tmp_path / "pretraining" / "config.json").read_text())["architectures"] == FLAVA["architectures"]
    images = [colours.image(i) for i in range(4)]
    got = zero_shot_classify(load_clip(spec), images, colours.class_names, colours.templates).logits
    want = zero_shot_classify(load_clip(flava_spec), images, colours.class_names, colours.templates).logits
    assert torch.equal(got, want)


@pytest.mark.parametrize("method", ["lorsu", "lora", "ln", "fft", "spu"])
def test_methods_tune_flava_and_the_export_restores(flava_spec, colours, method, tmp_path):
    _, record, export = shared.tune_once(flava_spec, colours, tmp_path, method)
    losses = record["sessions"][0]["epoch_losses"]
    assert losses[-1] < losses[0]
    assert check_encoder_file(export).name == "hf_flava"
    released = torch.load(export, weights_only=True)["state_dict"]
    fresh = load_clip(flava_spec)
    before = {k: v.clone() for k, v in fresh.visual.state_dict().items()}
    fresh.load_release_state_dict(released)
    after = fresh.visual.state_dict()
    assert sorted(released) == sorted(after) and all(torch.equal(after[k], released[k]) for k in after)
    assert any(not torch.equal(after[k], before[k]) for k in after)


@pytest.mark.parametrize("layout", ["export", "FlavaModel directory", "FlavaForPreTraining state dict"])
def test_swapping_the_tuned_tower_changes_the_scores(flava_spec, colours, layout, tmp_path):
    tuned, _, export = shared.tune_once(flava_spec, colours, tmp_path / "run")
    if layout == "FlavaModel directory":
        export = tmp_path / "flava_dir"
        tuned.net.save_pretrained(export, safe_serialization=True)
    elif layout != "export":  # FlavaForPreTraining: FlavaModel under `flava.` beside the codebook and the heads
        heads = ("image_codebook.blocks.input.weight", "mim_head.decoder.weight", "itm_head.seq_relationship.weight")
        state = {"flava." + k: v for k, v in tuned.net.state_dict().items()} | {k: torch.ones(2, 2) for k in heads}
        export = tmp_path / "pretraining.pt"
        torch.save(state, export)
    images = [colours.image(i) for i in range(len(colours.labels))]

    def logits(m):
        return zero_shot_classify(m, images, colours.class_names, colours.templates).logits

    model = load_clip(flava_spec)
    base = logits(model)
    report = swap_clip_encoder(model, str(export))
    assert report["format"] == "hf_flava" and report["tower"] == "FLAVA ViT"
    assert report["tensors_replaced"] == report["tensors_total"] == len(model.visual.state_dict())
    swapped = logits(model)
    assert not torch.allclose(swapped, base, atol=1e-3)
    assert torch.allclose(swapped, logits(tuned), atol=1e-5)


def test_clip_and_coca_checkpoints_are_refused_and_flava_into_clip_too(flava_spec, coca_spec, clip_specs, tmp_path):
    flava = load_clip(flava_spec)
    untouched = {k: v.clone() for k, v in flava.visual.state_dict().items()}
    hf_clip = clip_specs["hf"].removeprefix("hf:")
    with pytest.raises(EncoderCheckpointError, match="this is a CLIP ViT checkpoint; the FLAVA tower is a FLAVA ViT"):
        swap_clip_encoder(flava, hf_clip)
    torch.save(load_clip(coca_spec).release_state_dict(), tmp_path / "coca.pt")
    with pytest.raises(EncoderCheckpointError, match="this is a CoCa ViT checkpoint; the FLAVA tower is a FLAVA ViT"):
        swap_clip_encoder(flava, str(tmp_path / "coca.pt"))
    clip = load_clip(clip_specs["hf"])
    with pytest.raises(
        InvalidInput, match=r"CLIP ViT checkpoint \(format lorsu\).*offending keys: \['class_embedding'"
    ):
        flava.load_release_state_dict(clip.release_state_dict())
    assert all(torch.equal(v, untouched[k]) for k, v in flava.visual.state_dict().items())
    torch.save(flava.release_state_dict(), tmp_path / "flava.pt")
    with pytest.raises(EncoderCheckpointError, match="this is a FLAVA ViT checkpoint; the LLaVA tower is a CLIP ViT"):
        swap_clip_encoder(clip, str(tmp_path / "flava.pt"))

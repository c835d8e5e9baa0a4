"""`harness tune` on SigLIP: the sigmoid loss equals transformers' own, methods learn, and the tuned tower
swaps into a SigLIP VLM tower (LLaVA-OneVision's geometry, one block shallower)."""

from __future__ import annotations

import pytest
import torch

from harness.clip.loading import load_clip
from harness.tune.loss import TextBank, batch_logits, contrastive_loss
from harness.tune.run import tune
from tests.harness.tune.util import quick_cfg


def test_sigmoid_loss_equals_transformers_siglip_loss(siglip_spec, shapes):
    model = load_clip(siglip_spec)
    assert model.family == "hf_siglip" and model.logit_bias() is not None
    bank = TextBank(model, shapes)
    pixels = torch.stack([model.eval_transform(shapes.image(i)) for i in range(6)])
    classes, templates = torch.tensor(shapes.labels[:6]), torch.zeros(6, dtype=torch.long)
    batch = (pixels, classes, templates)
    texts = [shapes.text(int(c), 0) for c in classes]
    with torch.no_grad():
        ours = contrastive_loss(model, bank, batch)
        ref = model.net(input_ids=model.tokenize(texts)["input_ids"], pixel_values=pixels, return_loss=True)
        assert torch.allclose(batch_logits(model, bank, batch), ref.logits_per_image, atol=1e-5)
    assert abs(float(ours) - float(ref.loss)) < 1e-5


@pytest.mark.parametrize("method", ["lora", "ln", "lorsu", "spu", "fft"])
def test_methods_learn_and_the_export_swaps_into_a_siglip_vlm_tower(siglip_spec, shapes, method, tmp_path):
    from transformers import SiglipVisionConfig, SiglipVisionModel

    from harness.adapters.checkpoints import swap_encoder

    model = load_clip(siglip_spec)
    record = tune(model, shapes, quick_cfg(method, epochs=3, batch_size=16, rank=4), tmp_path, progress=False)
    losses = record["sessions"][0]["epoch_losses"]
    assert losses[-1] < losses[0]
    session = next(p for p in tmp_path.rglob("checkpoint_session-*.pt"))
    release = torch.load(session, weights_only=True)["state_dict"]
    original = load_clip(siglip_spec).net.vision_model.state_dict()
    assert any(not torch.equal(v, original[k.removeprefix("vision_model.")]) for k, v in release.items())
    for source in (session, session.parent / "vision_hf"):
        tower = SiglipVisionModel(
            SiglipVisionConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=32,
                patch_size=8,
                vision_use_head=False,
            )
        )
        report = swap_encoder(tower, source)
        assert report.format == "hf_siglip" and any("dropped block 2 of 3" in n for n in report.notes)
        for name, value in tower.state_dict().items():
            assert torch.equal(value, release["vision_model." + name]), name

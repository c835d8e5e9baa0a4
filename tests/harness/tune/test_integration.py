"""A checkpoint written by `tune` loads into a tiny LLaVA through the encoder swap (both formats)."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.checkpoints import EncoderCheckpointError, inspect_checkpoint
from harness.clip.keymap import open_clip_to_hf
from harness.toy.tiny_clip import TINY_SPEC
from harness.toy.tiny_llava import build_tiny_llava
from harness.tune.export import load_release
from harness.tune.run import tune
from tests.harness.tune.util import quick_cfg


@pytest.fixture(scope="module")
def llava(tmp_path_factory):
    from harness.adapters.llava import LlavaAdapter

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = build_tiny_llava(tmp_path_factory.mktemp("llava"), TINY_SPEC)  # same tower geometry as the CLIPs
        return LlavaAdapter.load(str(path), dtype="float32", device="cpu")
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("family", ["hf", "vit"])
def test_tuned_checkpoint_swaps_into_llava(clip_specs, shapes, llava, family, tmp_path):
    record = tune(clip_specs[family], shapes.subset(range(30)), quick_cfg("lorsu"), tmp_path, progress=False)
    files = record["sessions"][0]["files"]
    release = tmp_path / "session-1" / files["release"]
    want = {k.removeprefix("vision_model."): v for k, v in open_clip_to_hf(load_release(release)).items()}
    pixels = llava.pixel_values([shapes.image(i) for i in range(2)])

    report = llava.swap_encoder(str(release))
    assert report.format == "lorsu" and report.tensors_changed > 0
    tower = llava.vision_tower.state_dict()
    assert all(torch.equal(tower[k], want[k]) for k in want if k in tower)
    assert report.tensors_replaced == len(tower)
    with torch.no_grad():
        from_release = llava.vision_tower(pixel_values=pixels).last_hidden_state

    from transformers import CLIPVisionModelWithProjection

    hf_dir = tmp_path / "session-1" / files["hf"]
    assert llava.swap_encoder(str(hf_dir)).format == "hf_clip"
    reference = CLIPVisionModelWithProjection.from_pretrained(hf_dir).eval()
    with torch.no_grad():
        torch.testing.assert_close(
            llava.vision_tower(pixel_values=pixels).last_hidden_state, from_release, atol=0, rtol=0
        )
        torch.testing.assert_close(reference(pixel_values=pixels).last_hidden_state, from_release, atol=1e-5, rtol=0)


def test_eva_checkpoint_is_recognised_as_eva_clip(clip_specs, shapes, llava, tmp_path):
    record = tune(clip_specs["eva"], shapes.subset(range(20)), quick_cfg("ln", epochs=1), tmp_path, progress=False)
    release = tmp_path / "session-1" / record["sessions"][0]["files"]["release"]
    assert inspect_checkpoint(release)["format"] == "eva_clip"
    with pytest.raises(EncoderCheckpointError, match="EVA"):
        llava.swap_encoder(str(release))

"""`from_pretrained` that transformers would complete with random tensors is refused, naming the keys."""

from __future__ import annotations

import shutil

import pytest
from safetensors.torch import load_file, save_file
from transformers import CLIPModel

from adapters.hf_loading import check_model_dir, load_complete
from harness.clip.loading import load_clip
from harness.errors import InputNotFound, InvalidInput
from harness.toy.build import MODELS_DIR


def _copy_clip(tmp_path, edit):
    d = tmp_path / "clip"
    shutil.copytree(MODELS_DIR / "clip", d)
    sd = load_file(d / "model.safetensors")
    save_file(edit(sd), d / "model.safetensors", metadata={"format": "pt"})
    return d


def test_missing_tensors_are_refused_with_their_names(tmp_path):
    d = _copy_clip(tmp_path, lambda sd: {k: v for k, v in sd.items() if k != "text_projection.weight"})
    with pytest.raises(
        InvalidInput, match=r"--clip .*1 tensors missing from the files, e\.g\. text_projection\.weight"
    ):
        load_clip(str(d), option="--clip")


def test_unexpected_tensors_are_refused_unless_allowed(tmp_path):
    import torch

    d = _copy_clip(tmp_path, lambda sd: {**sd, "extra.head.weight": torch.zeros(2)})
    with pytest.raises(InvalidInput, match=r"in the files but not in the model, e\.g\. extra\.head\.weight"):
        load_complete(CLIPModel, d, "--model")
    assert load_complete(CLIPModel, d, "--model", allow_unexpected=[r"^extra\."]) is not None


def test_the_committed_toy_clip_loads_complete():
    assert isinstance(load_complete(CLIPModel, MODELS_DIR / "clip", "--model"), CLIPModel)


def test_model_dir_checks_family_and_weights(tmp_path):
    with pytest.raises(InvalidInput, match=r"holds a 'llava' model \(LlavaForConditionalGeneration\)"):
        check_model_dir(MODELS_DIR / "llava", "--clip", ("clip",))
    (tmp_path / "config.json").write_text('{"model_type": "clip"}')
    with pytest.raises(InputNotFound, match="no weight files"):
        check_model_dir(tmp_path, "--clip", ("clip",))
    (tmp_path / "config.json").write_text('{"model_type": "cl')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        check_model_dir(tmp_path, "--clip", ("clip",))

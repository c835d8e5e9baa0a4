"""The torch-free name reader (`names.peek_names`) gives exactly the names the torch reader gives, for every
container and layout, or None where only torch can tell; `check_encoder_file` detects the same format either
way, and no pickled object is ever run."""

from __future__ import annotations

import pickle

import pytest
import torch
from safetensors.torch import save_file

from harness.adapters.checkpoints import EncoderCheckpointError, check_encoder_file, detect_format, read_checkpoint
from harness.adapters.checkpoints.names import peek_names

SD = {"a.weight": torch.randn(3, 2), "b.bias": torch.randn(3).half(), "c.scale": torch.randn(2).bfloat16()}


def _torch_names(path) -> list[str]:
    return list(read_checkpoint(path, peek=True).tensors)


@pytest.mark.parametrize(
    "container",
    [
        lambda sd: sd,
        lambda sd: {"state_dict": sd},
        lambda sd: {"model": sd, "optimizer": {"step": 3}},
        lambda sd: {"epoch": 5, "state_dict": sd},
        lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}},
        lambda sd: {f"module._orig_mod.{k}": v for k, v in sd.items()},
        lambda sd: {k: torch.nn.Parameter(v.float()) for k, v in sd.items()},
    ],
)
def test_torch_save_containers(tmp_path, container):
    path = tmp_path / "ckpt.pt"
    torch.save(container(SD), path)
    assert peek_names(path) == _torch_names(path) == list(SD)


def test_real_state_dicts_and_layouts(tmp_path, kit):
    """An open_clip visual state dict (an OrderedDict with `_metadata`) in the LoRSU container, an HF CLIP
    directory in safetensors and in pytorch_model.bin, and a sharded safetensors directory."""
    state = kit.make_open_clip().visual.state_dict()
    lorsu = tmp_path / "lorsu.pth"
    torch.save({"epoch": 2, "state_dict": state}, lorsu)
    hf = kit.make_hf_clip()
    hf.save_pretrained(tmp_path / "hf")
    hf.save_pretrained(tmp_path / "hf_bin", safe_serialization=False)
    hf.save_pretrained(tmp_path / "hf_sharded", max_shard_size="100KB")
    assert len(list((tmp_path / "hf_sharded").glob("*.safetensors"))) > 1
    for path in (lorsu, tmp_path / "hf", tmp_path / "hf_bin", tmp_path / "hf_sharded"):
        names = peek_names(path)
        assert names is not None and sorted(names) == sorted(_torch_names(path)), path
        assert check_encoder_file(path) is detect_format(_torch_names(path)), path
    assert check_encoder_file(lorsu).name == "lorsu"


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_what_only_torch_can_read_is_left_to_it(tmp_path):
    script = tmp_path / "openai.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(script))
    legacy = tmp_path / "legacy.pt"
    torch.save(SD, legacy, _use_new_zipfile_serialization=False)
    no_tensors = tmp_path / "meta.pt"
    torch.save({"epoch": 3, "config": {"lr": 0.1}}, no_tensors)  # no tensors: the reader's message applies
    for path in (script, legacy, no_tensors):
        assert peek_names(path) is None, path
    assert sorted(_torch_names(legacy)) == sorted(SD)
    with pytest.raises(EncoderCheckpointError, match="no tensors found"):
        check_encoder_file(no_tensors)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickled_object_is_never_run(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"a.weight": torch.zeros(1)}, "hook": Evil()}, path)
    assert peek_names(path) is None
    with pytest.raises(EncoderCheckpointError, match="weights_only"):
        check_encoder_file(path)
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"a": Evil()}, f)
    assert peek_names(tmp_path / "evil.pkl") is None
    assert "must never run" not in capsys.readouterr().out


def test_unknown_layouts_and_bad_files_are_reported_as_the_reader_reports_them(tmp_path):
    odd = tmp_path / "resnet.safetensors"
    save_file({"visual.layer1.0.conv1.weight": torch.ones(2, 2)}, odd)
    with pytest.raises(EncoderCheckpointError, match="no known checkpoint layout .*visual.layer1.0.conv1.weight"):
        check_encoder_file(odd)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(EncoderCheckpointError, match="file is empty"):
        peek_names(empty)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    assert peek_names(garbage) is None
    with pytest.raises(EncoderCheckpointError, match="not a readable checkpoint"):
        check_encoder_file(garbage)

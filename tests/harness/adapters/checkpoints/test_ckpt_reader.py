"""Reading checkpoint files: containers, prefixes, hashing, and clear errors that name the path."""

from __future__ import annotations

import hashlib
import pickle

import pytest
import torch
from safetensors.torch import save_file

from harness.adapters.checkpoints import (
    CheckpointNotFoundError,
    EncoderCheckpointError,
    inspect_checkpoint,
    read_checkpoint,
    swap_encoder,
)
from harness.adapters.checkpoints.reader import sha256_of_directory

SD = {"a.weight": torch.randn(3, 2), "b.bias": torch.randn(3)}


def _same(got: dict[str, torch.Tensor]) -> bool:
    return got.keys() == SD.keys() and all(torch.equal(got[k], SD[k]) for k in SD)


def test_missing_path_names_the_path(tmp_path, kit):
    path = tmp_path / "nope" / "vit.pt"
    with pytest.raises(CheckpointNotFoundError, match=str(path)) as err:
        swap_encoder(kit.make_tower(), path)
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "name, data",
    [
        ("garbage.pt", b"\x00\x01definitely not a checkpoint" * 10),
        ("garbage.bin", b"PK\x03\x04 broken zip" * 10),
        ("garbage.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}"),
        ("empty.pt", b""),
    ],
)
def test_garbage_file_names_the_path(tmp_path, kit, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    tower = kit.make_tower()
    before = kit.snapshot(tower)
    with pytest.raises(EncoderCheckpointError, match="not") as err:
        swap_encoder(tower, path)
    assert str(path) in str(err.value)
    kit.assert_identical(tower, before)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_arbitrary_pickles_are_not_executed(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"state_dict": Evil()}, f)
    with pytest.raises(EncoderCheckpointError, match=str(path)):
        read_checkpoint(path)
    assert "must never run" not in capsys.readouterr().out


def test_state_dict_without_tensors_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "meta.pt"
    torch.save({"epoch": 3, "config": {"lr": 0.1}}, path)
    with pytest.raises(EncoderCheckpointError, match="no tensors found") as err:
        read_checkpoint(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "container, note",
    [
        (lambda sd: sd, None),
        (lambda sd: {"state_dict": sd}, "'state_dict'"),
        (lambda sd: {"model": sd, "optimizer": {"step": 3}}, "'model'"),
        (lambda sd: {"epoch": 5, "state_dict": sd}, "'state_dict'"),
        (lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}}, "'module.'"),
        (lambda sd: {f"module._orig_mod.{k}": v for k, v in sd.items()}, "'_orig_mod.'"),
    ],
)
def test_containers_unwrapped(tmp_path, container, note):
    path = tmp_path / "ckpt.pt"
    torch.save(container(SD), path)
    raw = read_checkpoint(path)
    assert _same(raw.tensors) and raw.container == "torch.save"
    if note:
        assert any(note in n for n in raw.notes)


def test_safetensors_by_content_and_sha256(tmp_path):
    path = tmp_path / "weights.ckpt"  # unusual suffix: recognised by its header
    save_file(SD, path)
    raw = read_checkpoint(path)
    assert _same(raw.tensors) and raw.container == "safetensors"
    assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert raw.files == {"weights.ckpt": raw.sha256}
    assert raw.dtypes() == {"float32": 2}


def test_directory_hash_is_deterministic_and_covers_all_files(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    save_file(SD, d / "model.safetensors")
    (d / "config.json").write_text("{}")
    (d / ".cache").mkdir()
    (d / ".cache" / "download.lock").write_text("changes every download")
    raw = read_checkpoint(d)
    assert set(raw.files) == {"config.json", "model.safetensors"} and _same(raw.tensors)
    manifest = "".join(f"{n}\t{hashlib.sha256((d / n).read_bytes()).hexdigest()}\n" for n in sorted(raw.files))
    assert raw.sha256 == hashlib.sha256(manifest.encode()).hexdigest() == sha256_of_directory(d)[0]
    (d / "config.json").write_text('{"changed": true}')
    assert read_checkpoint(d).sha256 != raw.sha256


def test_directory_without_weights_or_with_missing_shard(tmp_path):
    d = tmp_path / "empty_model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    with pytest.raises(EncoderCheckpointError, match="no recognisable weights") as err:
        read_checkpoint(d)
    assert str(d) in str(err.value)
    (d / "model.safetensors.index.json").write_text('{"weight_map": {"a.weight": "shard-1.safetensors"}}')
    with pytest.raises(EncoderCheckpointError, match="shard-1.safetensors"):
        read_checkpoint(d)


def test_unrecognised_layout_lists_keys(tmp_path, kit):
    path = tmp_path / "resnet.safetensors"
    save_file({"visual.layer1.0.conv1.weight": torch.ones(2, 2), "visual.attnpool.q_proj.weight": torch.ones(2)}, path)
    with pytest.raises(EncoderCheckpointError, match="no known checkpoint layout") as err:
        swap_encoder(kit.make_tower(), path)
    assert "visual.attnpool.q_proj.weight" in str(err.value) and str(path) in str(err.value)


def test_inspect_without_a_tower(tmp_path, kit):
    state = {k: v.half() for k, v in kit.make_open_clip().visual.state_dict().items()}
    path = tmp_path / "lorsu.pth"
    torch.save({"epoch": 2, "state_dict": state}, path)
    info = inspect_checkpoint(path)
    assert info["format"] == "lorsu" and info["family"] == "clip_vit"
    assert info["dtypes"] == {"float16": len(state)} and info["tensors"] == len(state)
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()

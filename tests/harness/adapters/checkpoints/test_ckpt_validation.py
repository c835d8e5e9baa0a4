"""Validation before the swap: every mismatch is an error that says what is wrong; nothing is loaded."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from harness.adapters.checkpoints import EncoderCheckpointError, swap_encoder

POS = "embeddings.position_embedding.weight"


def _save_tower(kit, tmp_path, name="ckpt.safetensors", seed=5, **geom):
    state = {k: v.contiguous() for k, v in kit.make_tower(seed=seed, **geom).state_dict().items()}
    path = tmp_path / name
    save_file(state, path)
    return path, state


def _refused(kit, tower, path, *fragments, **kwargs) -> EncoderCheckpointError:
    """Swap must raise, name the path and every fragment, and leave the tower bit-identical."""
    before = kit.snapshot(tower)
    with pytest.raises(EncoderCheckpointError) as err:
        swap_encoder(tower, path, **kwargs)
    msg = str(err.value)
    for fragment in (str(path), "nothing was loaded", *fragments):
        assert fragment in msg, (fragment, msg)
    kit.assert_identical(tower, before)
    return err.value


def test_depth_mismatch(kit, tmp_path):
    path, _ = _save_tower(kit, tmp_path, layers=2)
    err = _refused(
        kit, kit.make_tower(layers=3), path, "checkpoint has 2 blocks, tower has 3", "hf_clip", allow_partial=True
    )
    assert err.format == "hf_clip" and err.path == str(path)


def test_width_mismatch_names_width_and_shapes(kit, tmp_path):
    path, _ = _save_tower(kit, tmp_path, width=32, heads=1, mlp=64)
    _refused(
        kit,
        kit.make_tower(),
        path,
        "width: checkpoint hidden size is 32, tower's is 64",
        "MLP width: checkpoint 64, tower 128",
        "expected (64,), found (32,)",
    )


def test_patch_size_mismatch(kit, tmp_path):
    path, _ = _save_tower(kit, tmp_path, patch=4, image=16)  # same 4x4 grid, smaller patches
    _refused(
        kit,
        kit.make_tower(),
        path,
        "patch size: checkpoint has 4x4 patches, tower has 8x8",
        "embeddings.patch_embedding.weight: expected (64, 3, 8, 8), found (64, 3, 4, 4)",
    )


def test_grid_mismatch_without_interpolation(kit, tmp_path):
    path, _ = _save_tower(kit, tmp_path, image=48)
    _refused(
        kit,
        kit.make_tower(),
        path,
        "position grid: checkpoint has 6x6+1 = 37 positions, tower has 4x4+1 = 17 positions",
        "interpolate_pos=True",
    )


def test_missing_tensors_error_then_allow_partial(kit, tmp_path):
    _, state = _save_tower(kit, tmp_path)
    dropped = ["encoder.layers.1.mlp.fc2.weight", "post_layernorm.bias"]
    path = tmp_path / "partial.safetensors"
    save_file({k: v for k, v in state.items() if k not in dropped}, path)
    tower = kit.make_tower()
    _refused(
        kit,
        tower,
        path,
        "2 tower tensor(s) missing",
        "allow_partial=True",
        "encoder.layers.1.mlp.fc2.weight (64, 128)",
        "post_layernorm.bias (64,)",
    )

    before = kit.snapshot(tower)
    report = swap_encoder(tower, path, allow_partial=True)
    after = tower.state_dict()
    assert sorted(report.left_unchanged) == sorted(dropped)
    assert report.tensors_replaced == report.tensors_total - 2
    for k in after:
        assert torch.equal(after[k], before[k] if k in dropped else state[k]), k


def test_unknown_tensor_is_an_error(kit, tmp_path):
    _, state = _save_tower(kit, tmp_path)
    path = tmp_path / "extra.safetensors"
    save_file(dict(state, **{"encoder.layers.0.mystery.weight": torch.ones(3)}), path)
    _refused(
        kit, kit.make_tower(), path, "1 unknown tensor(s)", "encoder.layers.0.mystery.weight (3,)", allow_partial=True
    )


def test_unknown_open_clip_tensor_is_an_error(kit, tmp_path):
    state = kit.make_open_clip().state_dict()
    state["visual.transformer.resblocks.0.ls_1.gamma"] = torch.ones(64)  # layer scale: not in CLIP ViT
    path = tmp_path / "ls.pt"
    torch.save(state, path)
    _refused(kit, kit.make_tower(), path, "open_clip", "visual.transformer.resblocks.0.ls_1.gamma")


def test_interpolate_pos_loads_a_smaller_grid(kit, tmp_path):
    model = kit.make_open_clip(image=32, seed=11)  # 4x4 grid
    path = tmp_path / "open_clip_32px.pt"
    torch.save(model.state_dict(), path)
    tower = kit.make_tower(image=48)  # 6x6 grid
    _refused(kit, tower, path, "position grid: checkpoint has 4x4+1 = 17 positions, tower has 6x6+1")

    report = swap_encoder(tower, path, interpolate_pos=True)

    src = model.visual.positional_embedding.detach()
    by_hand = (
        F.interpolate(
            src[1:].reshape(1, 4, 4, 64).permute(0, 3, 1, 2), size=(6, 6), mode="bicubic", align_corners=False
        )
        .permute(0, 2, 3, 1)
        .reshape(36, 64)
    )
    got = tower.state_dict()[POS]
    assert got.shape == (37, 64)
    assert torch.equal(got[0], src[0])  # CLS position unchanged
    torch.testing.assert_close(got[1:], by_hand, atol=1e-6, rtol=0)
    assert not torch.allclose(got[1:17], src[1:])  # it really was resized, not truncated
    assert "4x4 -> 6x6" in report.position_interpolation and "align_corners=False" in report.position_interpolation
    assert report.tensors_replaced == report.tensors_total
    assert torch.equal(tower.state_dict()["embeddings.class_embedding"], model.visual.class_embedding.detach())


def test_interpolate_pos_does_not_hide_other_mismatches(kit, tmp_path):
    path, _ = _save_tower(kit, tmp_path, image=48, layers=2)
    _refused(kit, kit.make_tower(), path, "checkpoint has 2 blocks, tower has 3", interpolate_pos=True)


def test_non_finite_values_are_refused(kit, tmp_path):
    _, state = _save_tower(kit, tmp_path)
    state["encoder.layers.2.mlp.fc1.bias"][3] = float("nan")
    path = tmp_path / "nan.safetensors"
    save_file(state, path)
    _refused(kit, kit.make_tower(), path, "NaN or infinite", "encoder.layers.2.mlp.fc1.bias")


def test_overflow_when_cast_to_tower_dtype_is_refused(kit, tmp_path):
    _, state = _save_tower(kit, tmp_path)
    state["pre_layrnorm.weight"][0] = 1e6  # beyond float16's range
    path = tmp_path / "big.safetensors"
    save_file(state, path)
    _refused(kit, kit.make_tower().half(), path, "overflow when cast to float16", "pre_layrnorm.weight")


def test_cast_to_tower_dtype(kit, tmp_path):
    path, state = _save_tower(kit, tmp_path)
    tower = kit.make_tower().to(torch.bfloat16)
    report = swap_encoder(tower, path)
    assert report.tower_dtype == "bfloat16" and report.file_dtypes == {"float32": len(state)}
    for k, v in tower.state_dict().items():
        assert v.dtype == torch.bfloat16 and torch.equal(v, state[k].to(torch.bfloat16)), k


def test_post_layernorm_ignored_when_tower_has_none(kit, tmp_path):
    path, state = _save_tower(kit, tmp_path)
    tower = kit.make_tower()
    tower.post_layernorm = torch.nn.Identity()
    report = swap_encoder(tower, path)
    assert report.tensors_replaced == report.tensors_total == len(state) - 2
    assert sorted(report.ignored) == [
        "post_layernorm.bias (the tower has no such tensor)",
        "post_layernorm.weight (the tower has no such tensor)",
    ]


def test_nothing_matching_is_an_error_even_when_partial(kit, tmp_path):
    path = tmp_path / "only_text.safetensors"
    save_file({"vision_model.encoder.layers.0.self_attn.q_proj.weight": torch.ones(2, 2)}, path)
    _refused(kit, kit.make_tower(), path, "wrong shape", allow_partial=True)


def test_non_clip_tower_is_refused(kit, tmp_path):
    path, _ = _save_tower(kit, tmp_path)
    with pytest.raises(EncoderCheckpointError, match="not a known tower kind"):
        swap_encoder(torch.nn.Linear(2, 2), path)

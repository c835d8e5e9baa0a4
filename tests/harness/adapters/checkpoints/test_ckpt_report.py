"""SwapReport: counts match what really changed, sha256 matches the file, JSON and summary work."""

from __future__ import annotations

import hashlib
import json

import torch
from safetensors.torch import save_file

from harness.adapters.checkpoints import SwapReport, swap_encoder


def _block(name: str) -> str:
    parts = name.split(".")
    return f"layer.{parts[2]}" if parts[0] == "encoder" else parts[0]


def test_counts_and_changes_match_the_tower(kit, tmp_path):
    source = kit.randomize_(kit.make_tower(seed=1), 3).state_dict()
    tower = kit.make_tower(seed=2)
    before = kit.snapshot(tower)
    left_out = ["encoder.layers.0.mlp.fc1.bias"]
    same = "encoder.layers.1.layer_norm2.bias"  # identical to the tower's: replaced, not changed
    ckpt = {k: v.clone() for k, v in source.items() if k not in left_out}
    ckpt[same] = before[same].clone()
    ckpt["visual_projection.weight"] = torch.ones(16, 64)
    path = tmp_path / "vision.safetensors"
    save_file(ckpt, path)

    report = swap_encoder(tower, path, allow_partial=True)

    after = tower.state_dict()
    really_changed = [k for k in after if not torch.equal(after[k], before[k])]
    assert report.tensors_total == len(after)
    assert report.tensors_replaced == len(after) - len(left_out)
    assert report.tensors_changed == len(really_changed) == len(after) - len(left_out) - 1
    assert report.left_unchanged == left_out
    assert report.ignored == ["visual_projection.weight"] and report.ignored_count == 1
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.checkpoint == str(path) and report.format == "hf_clip"

    expected: dict[str, float] = {}
    for k in after:
        diff = (after[k].float() - before[k].float()).abs().max().item()
        expected[_block(k)] = max(expected.get(_block(k), 0.0), diff)
    assert list(report.max_abs_change) == [
        "embeddings",
        "pre_layrnorm",
        "layer.0",
        "layer.1",
        "layer.2",
        "post_layernorm",
    ]
    assert report.max_abs_change == expected
    assert all(v > 0 for v in expected.values())


def test_to_dict_is_json_and_summary_reads_well(kit, tmp_path):
    model = kit.make_open_clip(seed=4)
    state = model.visual.state_dict()
    state = {k: (v.half() if k.startswith("ln_") else v) for k, v in state.items()}
    path = tmp_path / "lorsu.pth"
    torch.save({"epoch": 1, "state_dict": state}, path)
    report = swap_encoder(kit.make_tower(), path)

    data = json.loads(json.dumps(report.to_dict()))
    assert data["format"] == "lorsu" and data["ignored_count"] == 1 and data["ignored"] == ["proj"]
    assert data["file_dtypes"] == {"float16": 4, "float32": len(state) - 4}
    assert data["tensors_replaced"] == data["tensors_total"] == 55
    assert "unwrapped container key 'state_dict'" in data["notes"]
    assert data["summary"] == report.summary()
    assert SwapReport(**{k: v for k, v in data.items() if k not in ("ignored_count", "summary")}) == report

    text = report.summary()
    for fragment in (
        "lorsu",
        str(path),
        "55 of 55 tensors replaced",
        "4 float16",
        "float32",
        "1 checkpoint key(s) ignored",
        "Largest absolute change",
    ):
        assert fragment in text, fragment

"""Protocols: released class orders, disjoint sessions, seeded few-shot sampling, per-session
checkpoints, and resuming that skips finished sessions and reproduces the rest bit for bit."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import torch

from harness.clip.data import CaptionedImages
from harness.tasks.captions import GTSRB_CLASSNAMES, TSI_ACTION_CAPTIONS
from harness.toy.tiny_clip import shapes_data
from harness.tune.export import load_release
from harness.tune.run import OutDirMismatch, tune
from harness.tune.sessions import GTSRB_ORDER, TSI_SESSIONS, class_groups, plan_sessions
from tests.harness.tune.util import quick_cfg


def _fake(names: list[str], per_class: int, name: str = "", keys: list[str] | None = None) -> CaptionedImages:
    samples = [(f"img_{c}_{i}.png", c) for c in range(len(names)) for i in range(per_class)]
    return CaptionedImages(samples, names, ("{}",), keys, name)


def test_gtsrb_uses_the_released_class_order_in_9_9_9_8_8_groups():
    groups = class_groups(_fake(list(GTSRB_CLASSNAMES), 1, "gts"), 5, seed=123, task="gts")
    assert [len(g) for g in groups] == [9, 9, 9, 8, 8]
    assert [c for g in groups for c in g] == list(GTSRB_ORDER)  # indices are the ClassIds here
    assert groups[0] == [25, 2, 11, 1, 40, 27, 5, 9, 17]


def test_tsi_groups_by_action_and_by_caption_are_disjoint():
    actions = sorted(TSI_ACTION_CAPTIONS)
    data = _fake([TSI_ACTION_CAPTIONS[a] for a in actions], 1, "tsi", keys=actions)
    groups = class_groups(data, 5, seed=0, task="tsi")
    assert [[actions[c] for c in g] for g in groups] == [list(s) for s in TSI_SESSIONS]

    captions = sorted(set(TSI_ACTION_CAPTIONS.values()))
    by_caption = class_groups(_fake(captions, 1, "tsi"), 5, seed=0, task="tsi")
    flat = [captions[c] for g in by_caption for c in g]
    assert sorted(flat) == captions and len(flat) == len(set(flat))
    assert "walking" in [captions[c] for c in by_caption[0]]  # Enter; Leave and Walk come later


def test_other_tasks_get_a_seeded_partition():
    data = _fake([f"c{i}" for i in range(11)], 2)
    a, b, c = (class_groups(data, 4, seed=s) for s in (1, 1, 2))
    assert a == b and a != c
    flat = [x for g in a for x in g]
    assert sorted(flat) == list(range(11)) and [len(g) for g in a] == [3, 3, 3, 2]


def test_few_shot_sampling_is_seeded_disjoint_and_per_class():
    data = _fake([f"c{i}" for i in range(10)], 30)
    plan = plan_sessions(data, "continual", sessions=5, shots=7, seed=4)
    again = plan_sessions(data, "continual", sessions=5, shots=7, seed=4)
    other = plan_sessions(data, "continual", sessions=5, shots=7, seed=5)
    assert plan == again and [s.indices for s in plan] != [s.indices for s in other]
    seen_classes: set[int] = set()
    for s in plan:
        labels = [data.labels[i] for i in s.indices]
        assert set(labels) == set(s.classes) and not seen_classes & set(s.classes)
        assert all(labels.count(c) == 7 for c in s.classes) and len(set(s.indices)) == len(s.indices)
        seen_classes |= set(s.classes)
    assert seen_classes == set(range(10))
    offline = plan_sessions(data, "offline")
    assert len(offline) == 1 and offline[0].indices == tuple(range(len(data)))


@pytest.mark.parametrize("method", ["lorsu", "lora"])
def test_continual_run_writes_every_session_and_resumes_exactly(clip_specs, tmp_path, method):
    data = shapes_data(60, seed=1, templates=("{}",))
    cfg = quick_cfg(method, protocol="continual", sessions=2, shots=6, epochs=2, batch_size=6)
    out = tmp_path / "run"
    record = tune(clip_specs["vit"], data, cfg, out, progress=False)
    sessions = record["sessions"]
    assert [s["session"] for s in sessions] == [1, 2] and record["complete"]
    assert not set(sessions[0]["classes"]) & set(sessions[1]["classes"])
    assert [s["images"] for s in sessions] == [6 * len(s["classes"]) for s in sessions]
    for s in sessions:
        sdir = out / f"session-{s['session']}"
        assert (sdir / s["files"]["release"]).is_file() and (sdir / "vision_hf" / "model.safetensors").is_file()
        assert s["files"]["release"] == f"checkpoint_session-{s['session']}_epoch-2.pt"
    if method == "lorsu":
        assert all(s["method_info"]["importance_samples_used"] > 0 for s in sessions)
    saved = json.loads((out / "tune.json").read_text())
    assert saved["data_hash"] == data.fingerprint() and saved["parameters"]["trainable"] > 0
    assert set(saved["session_losses"]) == {"1", "2"} and saved["minutes_per_epoch"] > 0

    # Interrupt after session 1: session 2 is retrained from session 1's state, session 1 is skipped.
    ckpt2 = out / "session-2" / sessions[1]["files"]["release"]
    first = load_release(ckpt2)
    mtime1 = (out / "session-1" / sessions[0]["files"]["release"]).stat().st_mtime_ns
    shutil.rmtree(out / "session-2")
    again = tune(clip_specs["vit"], data, cfg, out, progress=False)
    assert again["sessions"][0].get("skipped_on_resume") and not again["sessions"][1].get("skipped_on_resume")
    assert (out / "session-1" / sessions[0]["files"]["release"]).stat().st_mtime_ns == mtime1
    second = load_release(ckpt2)
    assert all(torch.equal(first[k], second[k]) for k in first)

    # Everything complete: nothing is trained.
    third = tune(clip_specs["vit"], data, cfg, out, progress=False)
    assert all(s.get("skipped_on_resume") for s in third["sessions"])


def test_incomplete_session_is_redone_and_other_settings_are_refused(clip_specs, tmp_path):
    data = shapes_data(30, seed=2, templates=("{}",))
    cfg = quick_cfg("ln", protocol="continual", sessions=2, shots=3, epochs=1, batch_size=5)
    out = tmp_path / "run"
    tune(clip_specs["hf"], data, cfg, out, progress=False)
    (out / "session-2" / "session.json").unlink()
    record = tune(clip_specs["hf"], data, cfg, out, progress=False)
    assert [bool(s.get("skipped_on_resume")) for s in record["sessions"]] == [True, False]
    with pytest.raises(OutDirMismatch, match="lr"):
        tune(clip_specs["hf"], data, replace(cfg, lr=0.5), out, progress=False)
    fresh = tune(clip_specs["hf"], data, replace(cfg, lr=0.5), out, progress=False, overwrite=True)
    assert not any(s.get("skipped_on_resume") for s in fresh["sessions"])

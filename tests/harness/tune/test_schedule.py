"""The released learning-rate schedules and their use by the trainer."""

from __future__ import annotations

import pytest

from harness.clip.loading import load_clip
from harness.tune.schedule import cycle_lr, per_step_lr, released_epoch_lrs
from harness.tune.trainer import epoch_lrs, train_session
from tests.harness.tune.util import quick_cfg, session_parts


def test_released_stepping_runs_epoch_one_at_min_lr_then_near_max():
    lrs = released_epoch_lrs(5, cycle_steps=5 * 100, max_lr=1e-5, min_lr=1e-6)
    assert lrs[0] == 1e-6 and lrs[1] == pytest.approx(1e-5)
    assert 1e-5 > lrs[2] > lrs[4] > 0.99e-5  # a cycle counted in batches barely decays per epoch
    spu = released_epoch_lrs(10, cycle_steps=10 * 5, max_lr=7.5e-6, min_lr=0.0)
    assert spu[0] == 0.0 and spu[1] == pytest.approx(7.5e-6) and spu[-1] < spu[1]


def test_cycle_shape_and_restart():
    assert cycle_lr(0, 10, 2, 1.0, 0.0) == 0.0 and cycle_lr(1, 10, 2, 1.0, 0.0) == 0.5
    assert cycle_lr(2, 10, 2, 1.0, 0.0) == 1.0 and cycle_lr(6, 10, 2, 1.0, 0.0) == pytest.approx(0.5)
    assert cycle_lr(12, 10, 2, 1.0, 0.0) == 1.0  # restarted
    assert per_step_lr(0, 100, 1.0, 0.1) == 0.1


def test_trainer_uses_the_released_epoch_schedule(clip_specs, shapes):
    cfg = quick_cfg("ln", epochs=3, schedule="released", lr=1e-3)
    model = load_clip(clip_specs["vit"])
    method, bank, loader = session_parts(model, shapes.subset(range(20)), cfg)
    stats = train_session(model, method, loader, bank, cfg, progress=False)
    assert stats.epoch_lrs == epoch_lrs(cfg, len(loader), 1) == released_epoch_lrs(3, 3 * len(loader), 1e-3, 1e-6)
    assert stats.steps == 3 * len(loader) and len(stats.epoch_losses) == 3

"""Importance scores: LoRSU's averaged (or squared) gradients with its stopping rule, SPU's
cumulative gradient sums; checked on a loss whose gradient is known in closed form."""

from __future__ import annotations

import torch

from harness.clip.loading import load_clip
from harness.tune.importance import lorsu_scores, spu_scores


def _setup(clip_specs, values: list[float], bs: int = 2):
    model = load_clip(clip_specs["vit"])
    w = model.blocks()[0].fc1.weight
    batches = [(torch.full((bs, 1), v), torch.zeros(bs), torch.zeros(bs)) for v in values]

    def loss_fn(m, batch):  # d loss / d w = batch value * ones (times a fixed pattern)
        return (w * pattern).sum() * batch[0][0, 0]

    pattern = torch.linspace(-1, 1, w.numel()).reshape(w.shape)
    return model, w, batches, loss_fn, pattern


def test_lorsu_average_and_squared_scores_and_stopping(clip_specs):
    model, w, batches, loss_fn, pattern = _setup(clip_specs, [1.0, -3.0, 5.0])
    scores, n = lorsu_scores(model, batches, loss_fn, {"w": w}, min_samples=3)
    assert n == 4  # stops once >= 3 samples were used
    torch.testing.assert_close(scores["w"], pattern * (2 * 1.0 + 2 * -3.0) / 4)
    scores, n = lorsu_scores(model, batches, loss_fn, {"w": w}, min_samples=1000, mode="squared")
    assert n == 6  # one pass at most
    torch.testing.assert_close(scores["w"], pattern**2 * (2 * 1 + 2 * 9 + 2 * 25) / 6)
    assert not w.requires_grad


def test_spu_scores_sum_cumulative_gradients(clip_specs):
    model, w, batches, loss_fn, pattern = _setup(clip_specs, [1.0, 2.0, 4.0])
    scores, used = spu_scores(model, batches, loss_fn, {"w": w}, batch_fraction=0.9)
    assert used == 6
    torch.testing.assert_close(scores["w"], pattern * (3 * 1.0 + 2 * 2.0 + 4.0))  # sum_j sum_{i<=j} g_i
    scores, used = spu_scores(model, batches, loss_fn, {"w": w}, batch_fraction=0.25)
    assert used == 2  # more than a quarter of 3 batches is one batch
    scores, _ = spu_scores(model, batches, loss_fn, {"w": w}, batch_fraction=0.9, cumulative=False)
    torch.testing.assert_close(scores["w"], pattern * 7.0)

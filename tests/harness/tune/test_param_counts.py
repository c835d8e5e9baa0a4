"""Each method changes exactly what it claims: the reported trainable count equals the entries that
changed after a few steps, and the merged weights differ from the start only in the reported
footprint (`updated`) of the vision tower."""

from __future__ import annotations

import pytest

from harness.clip.loading import load_clip
from harness.tune.config import TOWER_METHODS
from tests.harness.clip.fixtures import FAMILIES
from tests.harness.tune.util import changed_entries, quick_cfg, session_parts, snapshot, train


def _run(spec, data, cfg):
    model = load_clip(spec)
    plain_before = snapshot(model.net)
    method, bank, loader = session_parts(model, data, cfg)
    before = snapshot(model.net)
    train(model, method, bank, loader, cfg)
    changed = changed_entries(before, snapshot(model.net))
    plain = method.finish_session(model)
    plain_after = snapshot(plain.net)
    assert set(plain_after) == set(plain_before)  # merged back to the plain parameter names
    return model, plain, method, changed, changed_entries(plain_before, plain_after)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", TOWER_METHODS)
def test_reported_counts_equal_the_entries_that_changed(clip_specs, shapes, family, name):
    cfg = quick_cfg(name)
    _, plain, method, changed, changed_plain = _run(clip_specs[family], shapes.subset(range(30)), cfg)
    report = method.report()
    trainable_names = {t.name for t in method.trainables}
    assert {n for n, c in changed.items() if c} <= trainable_names
    assert sum(changed.values()) == report.trainable > 0

    vision = {n for n, _ in plain.vision_parameters()}
    touched = {n for n, c in changed_plain.items() if c}
    assert touched <= vision  # text tower and logit scale untouched
    assert sum(changed_plain.values()) == report.updated
    assert report.total == sum(p.numel() for _, p in plain.vision_parameters())
    if name == "fft":
        assert report.trainable == report.updated == report.total
    else:
        assert report.trainable < report.total


def test_spu_release_options_decay_and_text_edits(clip_specs, shapes):
    data = shapes.subset(range(30))
    cfg = quick_cfg("spu", spu_decay_outside_mask=True, spu_edit_text=True, weight_decay=0.5)
    model, plain, method, changed, changed_plain = _run(clip_specs["vit"], data, cfg)
    report = method.report()
    assert sum(changed.values()) == report.trainable
    fc1 = [b.fc1.weight for b in plain.blocks()]
    # with decay outside the mask every fc1 entry moves
    assert (
        report.updated
        == sum(w.numel() for w in fc1) + sum(b.fc1.bias.numel() for b in plain.blocks()) + plain.net.visual.proj.numel()
    )
    text_touched = [n for n, c in changed_plain.items() if c and not n.startswith("visual.")]
    assert text_touched and all(".mlp.c_fc." in n for n in text_touched)


def test_spu_default_keeps_masked_entries_despite_weight_decay(clip_specs, shapes):
    cfg = quick_cfg("spu", weight_decay=0.5)
    _, plain, method, changed, _ = _run(clip_specs["hf"], shapes.subset(range(30)), cfg)
    masks = [t for t in method.trainables if t.mask is not None]
    assert masks and all(int(t.mask.sum()) == int(t.mask.numel() * 0.1) for t in masks)
    assert sum(changed.values()) == method.report().trainable


@pytest.mark.parametrize("family", FAMILIES)
def test_count_parameters_matches_the_lorsu_formula(clip_specs, family):
    from harness.tune.config import TuneConfig
    from harness.tune.counting import count_parameters

    model = load_clip(clip_specs[family])
    blocks = model.blocks()
    b, r, k, s = blocks[0], 8, 2, 0.25
    fc1, bias = b.fc1.weight.numel(), b.fc1.out_features + sum(getattr(m, n).numel() for m, n in b.qkv_bias)
    per_layer = int(fc1 * s) + bias + k * 3 * b.head_dim * r + r * b.width
    proj = model.projection()
    report = count_parameters(model, TuneConfig(method="lorsu", rank=r, top_k_heads=k, sparsity=s))
    assert report.trainable == len(blocks) * per_layer + r * sum(getattr(proj.owner, proj.name).shape)

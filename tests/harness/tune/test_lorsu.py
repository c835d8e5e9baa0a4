"""LoRSU: exact fc1 density, masks and heads from the importance scores, untouched entries stay
bit-identical, and the merged checkpoint reproduces the parametrized model."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from harness.clip.loader import train_loader, train_transform
from harness.clip.loading import load_clip
from harness.tune.export import export_session, load_release
from harness.tune.importance import lorsu_scores
from harness.tune.loss import TextBank
from harness.tune.objective import ContrastiveObjective
from tests.harness.clip.fixtures import FAMILIES
from tests.harness.tune.util import quick_cfg, session_parts, train


def _plain(model) -> dict[str, torch.Tensor]:
    """Per block: q/k/v as one [3D, D] matrix, fc1, fc2, out_proj; plus the projection."""
    out = {}
    for b in model.blocks():
        out[f"{b.index}.qkv"] = torch.cat([t.detach() for t in b.qkv_tensors()], 0).clone()
        out[f"{b.index}.qkv_bias"] = torch.cat([getattr(m, n).detach().reshape(-1) for m, n in b.qkv_bias]).clone()
        for name in ("fc1", "fc2", "out_proj"):
            lin = getattr(b, name)
            out[f"{b.index}.{name}.weight"] = lin.weight.detach().clone()
            out[f"{b.index}.{name}.bias"] = lin.bias.detach().clone()
    p = model.projection()
    out["proj"] = getattr(p.owner, p.name).detach().clone()
    return out


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("sparsity", [0.05, 0.1, 0.37])
def test_fc1_mask_density_and_head_choice_follow_the_scores(clip_specs, shapes, family, sparsity):
    data = shapes.subset(range(40))
    cfg = quick_cfg("lorsu", sparsity=sparsity)
    model = load_clip(clip_specs[family])
    method, _, _ = session_parts(model, data, cfg, seed=3)

    # The same scores, computed independently on a fresh model with an identically seeded loader.
    ref = load_clip(clip_specs[family])
    loader = train_loader(data, train_transform(ref.image_size, ref.mean, ref.std, "none"), cfg.batch_size, seed=3)
    params = {}
    for b in ref.blocks():
        params[f"{b.index}.qkv"] = b.qkv_tensors()
        params[f"{b.index}.fc1"] = [b.fc1.weight]
    flat = {f"{k}.{i}": t for k, ts in params.items() for i, t in enumerate(ts)}
    scores, _ = lorsu_scores(ref, loader, ContrastiveObjective(TextBank(ref, data)).loss, flat, cfg.importance_samples)

    masks = {t.name: t.mask for t in method.trainables if t.mask is not None and "lora" not in t.name}
    assert len(masks) == len(ref.blocks())
    for b, (name, mask) in zip(ref.blocks(), masks.items()):
        assert "fc1" in name or "c_fc" in name
        assert int(mask.sum()) == int(mask.numel() * sparsity)  # exactly the requested density
        s = scores[f"{b.index}.fc1.0"].abs()
        assert s[mask.bool()].min() >= s[~mask.bool()].max()
        g = torch.cat([scores[f"{b.index}.qkv.{i}"] for i in range(len(b.qkv))], 0)
        rows = g.reshape(3, b.heads, b.head_dim, b.width)
        per_head = [float(sum((rows[j, h] ** 2).sum() for j in range(3))) for h in range(b.heads)]
        best = sorted(range(b.heads), key=lambda h: -per_head[h])[: cfg.top_k_heads]
        assert method.info["heads"][b.index] == sorted(best)


@pytest.mark.parametrize("family", FAMILIES)
def test_only_masked_fc1_entries_and_selected_head_rows_change(clip_specs, shapes, family):
    data = shapes.subset(range(40))
    cfg = quick_cfg("lorsu", sparsity=0.1, top_k_heads=1)
    model = load_clip(clip_specs[family])
    before = _plain(model)
    method, bank, loader = session_parts(model, data, cfg)
    fc1_masks = [t.mask.bool() for t in method.trainables if t.mask is not None and "lora" not in t.name]
    train(model, method, bank, loader, cfg)
    method.finish_session(model)
    after = _plain(model)
    assert not any(parametrize.is_parametrized(m) for m in model.net.modules())

    for b, mask in zip(model.blocks(), fc1_masks):
        i = b.index
        w0, w1 = before[f"{i}.fc1.weight"], after[f"{i}.fc1.weight"]
        assert torch.equal(w0[~mask], w1[~mask])
        assert bool((w0[mask] != w1[mask]).all())
        rows = torch.zeros(3, b.heads, b.head_dim, dtype=torch.bool)
        rows[:, method.info["heads"][i]] = True
        rows = rows.reshape(-1)
        q0, q1 = before[f"{i}.qkv"], after[f"{i}.qkv"]
        assert torch.equal(q0[~rows], q1[~rows])  # unselected heads: bit-identical
        assert bool((q0[rows] != q1[rows]).all())
        for frozen in ("fc2.weight", "fc2.bias", "out_proj.weight", "out_proj.bias"):
            assert torch.equal(before[f"{i}.{frozen}"], after[f"{i}.{frozen}"]), frozen
        assert not torch.equal(before[f"{i}.fc1.bias"], after[f"{i}.fc1.bias"])
        assert not torch.equal(before[f"{i}.qkv_bias"], after[f"{i}.qkv_bias"])
    assert not torch.equal(before["proj"], after["proj"])


def test_released_extras_can_be_switched_off(clip_specs, shapes):
    data = shapes.subset(range(30))
    cfg = quick_cfg("lorsu", lorsu_proj_lora=False, lorsu_bias=False)
    model = load_clip(clip_specs["vit"])
    before = _plain(model)
    method, bank, loader = session_parts(model, data, cfg)
    train(model, method, bank, loader, cfg)
    method.finish_session(model)
    after = _plain(model)
    assert torch.equal(before["proj"], after["proj"])
    for b in model.blocks():
        assert torch.equal(before[f"{b.index}.fc1.bias"], after[f"{b.index}.fc1.bias"])
        assert torch.equal(before[f"{b.index}.qkv_bias"], after[f"{b.index}.qkv_bias"])
        assert not torch.equal(before[f"{b.index}.qkv"], after[f"{b.index}.qkv"])


@pytest.mark.parametrize("family", FAMILIES)
def test_merged_checkpoint_reproduces_the_parametrized_model(clip_specs, shapes, family, tmp_path):
    data = shapes.subset(range(40))
    cfg = quick_cfg("lorsu")
    model = load_clip(clip_specs[family])
    method, bank, loader = session_parts(model, data, cfg)
    train(model, method, bank, loader, cfg)
    pixels = torch.stack([model.eval_transform(data.image(i)) for i in range(8)])
    with torch.no_grad():
        want = model.encode_image(pixels)
    plain = method.finish_session(model)
    files = export_session(plain, tmp_path, 1, cfg.epochs)

    fresh = load_clip(clip_specs[family])
    with torch.no_grad():
        untouched = fresh.encode_image(pixels)
    fresh.load_release_state_dict(load_release(tmp_path / files["release"]))
    with torch.no_grad():
        got = fresh.encode_image(pixels)
    assert (want - untouched).abs().max() > 1e-3  # training did change the outputs
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    saved = torch.load(tmp_path / files["release"], weights_only=True)
    assert saved["epoch"] == cfg.epochs and not any(k.startswith("visual.") for k in saved["state_dict"])

    if family == "eva":
        assert files["hf"] is None
        assert any(k.startswith("trunk.blocks.") for k in saved["state_dict"])
        return
    from transformers import CLIPVisionModelWithProjection

    hf = CLIPVisionModelWithProjection.from_pretrained(tmp_path / files["hf"]).eval()
    with torch.no_grad():
        torch.testing.assert_close(hf(pixel_values=pixels).image_embeds, want, atol=1e-5, rtol=0)

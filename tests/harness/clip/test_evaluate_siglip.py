"""`--vlm clip` with a SigLIP model: predictions equal transformers' own SigLIP features averaged over the
task's templates, and a tuned SigLIP tower (hf_siglip names) swaps in."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, SiglipImageProcessor, SiglipModel

from harness.clip.evaluate import class_space
from harness.eval.runner import EvalConfig, run_eval
from harness.tasks.toy_world import ToyWorldTask

N = 24


def _run(siglip_spec, out, encoder=None):
    cfg = EvalConfig(
        vlm="clip", model=siglip_spec, device="cpu", out=str(out), tasks=["toy_control"], limit=N, encoder=encoder
    )
    res = run_eval(cfg, progress=False)
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    return res, {s["id"]: s for s in samples}


def test_siglip_predictions_equal_transformers_features(siglip_spec, tmp_path):
    res, samples = _run(siglip_spec, tmp_path / "r")
    model_dir = siglip_spec.removeprefix("hf:")
    model = SiglipModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    tok, proc = AutoTokenizer.from_pretrained(model_dir), SiglipImageProcessor.from_pretrained(model_dir)
    task = ToyWorldTask("control", "test")
    names, templates, _ = class_space(task)
    items = list(task.items())[:N]
    with torch.no_grad():
        texts = [t.format(c) for c in names for t in templates]
        ids = tok(texts, padding="max_length", max_length=16, truncation=True, return_tensors="pt").input_ids
        text = F.normalize(model.get_text_features(input_ids=ids).pooler_output, dim=-1)
        text = F.normalize(text.reshape(len(names), len(templates), -1).mean(1), dim=-1)
        pix = proc([task.load_image(it) for it in items], return_tensors="pt").pixel_values
        image = F.normalize(model.get_image_features(pixel_values=pix).pooler_output, dim=-1)
        ref = (image @ text.T).topk(5, dim=-1).indices.tolist()
    assert [samples[it.id]["top5"] for it in items] == ref
    want = sum(r[0] == it.answer for r, it in zip(ref, items)) / N
    assert res["tasks"]["toy_control"]["metrics"]["top1"]["value"] == pytest.approx(want)
    assert res["model"]["family"] == "hf_siglip"


def test_a_tuned_siglip_tower_swaps_in(siglip_spec, tmp_path):
    from harness.clip.loading import load_clip

    sd = load_clip(siglip_spec).release_state_dict()  # hf_siglip names: what `harness tune` writes
    torch.save({"state_dict": sd}, tmp_path / "same.pt")
    bent = {k: (v.flip(0) if k.endswith("head.mlp.fc2.weight") else v) for k, v in sd.items()}
    torch.save({"state_dict": bent}, tmp_path / "bent.pt")
    _, base = _run(siglip_spec, tmp_path / "base")
    same, same_samples = _run(siglip_spec, tmp_path / "same", str(tmp_path / "same.pt"))
    _, bent_samples = _run(siglip_spec, tmp_path / "bent", str(tmp_path / "bent.pt"))
    assert same["encoder"]["swap_report"]["format"] == "hf_siglip"
    assert [s["top5"] for s in same_samples.values()] == [s["top5"] for s in base.values()]
    assert [s["top5"] for s in bent_samples.values()] != [s["top5"] for s in base.values()]

"""`--vlm clip`: zero-shot classification records equal a direct computation with the model's own
features; encoder swaps include the image projection; ImageNet layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import CLIPModel, CLIPProcessor

from harness.eval.runner import EvalConfig, run_eval
from harness.tasks.imagenet import ImageNet
from harness.tasks.toy_scenes import class_names
from harness.tasks.toy_world import ToyWorldTask
from harness.toy.build import MODELS_DIR

CLIP = MODELS_DIR / "clip"


def _cfg(out, **kw):
    return EvalConfig(vlm="clip", model=str(CLIP), device="cpu", out=str(out), **kw)


def test_top1_equals_direct_feature_computation(tmp_path):
    res = run_eval(_cfg(tmp_path / "r", tasks=["toy_control", "toy_target"], limit=40), progress=False)
    model = CLIPModel.from_pretrained(CLIP, dtype=torch.float32).eval()
    proc = CLIPProcessor.from_pretrained(CLIP)
    with torch.no_grad():
        text = F.normalize(
            model.get_text_features(**proc.tokenizer(class_names(), padding=True, return_tensors="pt")).pooler_output,
            dim=-1,
        )
        for domain in ("control", "target"):
            task = ToyWorldTask(domain, "test")
            items = list(task.items())[:40]
            pix = proc.image_processor([task.load_image(it) for it in items], return_tensors="pt")["pixel_values"]
            img = F.normalize(model.get_image_features(pixel_values=pix).pooler_output, dim=-1)
            pred = (img @ text.T).argmax(-1).tolist()
            want = np.mean([p == it.meta["class_index"] for p, it in zip(pred, items)])
            assert res["tasks"][f"toy_{domain}"]["metrics"]["top1"]["value"] == pytest.approx(want)
    assert res["tasks"]["toy_control"]["metrics"]["top1"]["value"] > 0.9
    assert res["config"]["vlm"] == "clip"


def test_encoder_swap_carries_the_projection(tmp_path):
    from harness.clip.loading import load_clip

    clip = load_clip(str(CLIP))
    sd = clip.release_state_dict()  # the LoRSU release layout (open_clip names, incl. proj)
    torch.save({"epoch": 1, "state_dict": sd}, tmp_path / "same.pt")
    sd = dict(sd)
    sd["proj"] = sd["proj"][:, torch.randperm(sd["proj"].shape[1], generator=torch.Generator().manual_seed(0))]
    torch.save({"epoch": 1, "state_dict": sd}, tmp_path / "shuffled.pt")
    base = run_eval(_cfg(tmp_path / "a", tasks=["toy_control"], limit=40), progress=False)
    same = run_eval(
        _cfg(tmp_path / "b", tasks=["toy_control"], limit=40, encoder=str(tmp_path / "same.pt")), progress=False
    )
    bad = run_eval(
        _cfg(tmp_path / "c", tasks=["toy_control"], limit=40, encoder=str(tmp_path / "shuffled.pt")), progress=False
    )
    top1 = lambda r: r["tasks"]["toy_control"]["metrics"]["top1"]["value"]  # noqa: E731
    assert top1(same) == top1(base) and top1(bad) < top1(base)
    assert "image projection replaced" in same["encoder"]["swap_report"]["notes"]


def _jpeg(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(path)


def test_imagenet_layouts_agree(tmp_path):
    wnids = ["n01440764", "n01443537", "n15075141"]
    truth = [2, 0, 1, 0]  # sorted-wnid class per image
    tv, loc, raw = tmp_path / "tv", tmp_path / "loc", tmp_path / "raw"
    rows = ["ImageId,PredictionString"]
    for i, c in enumerate(truth, 1):
        name = f"ILSVRC2012_val_{i:08d}"
        _jpeg(tv / "val" / wnids[c] / f"{name}.JPEG", i)
        _jpeg(loc / "ILSVRC" / "Data" / "CLS-LOC" / "val" / f"{name}.JPEG", i)
        _jpeg(raw / "val" / f"{name}.JPEG", i)
        rows.append(f"{name},{wnids[c]} 1 2 3 4")
    (loc / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    # raw: ILSVRC2012_IDs in meta.mat order (not sorted wnids): ids 1..3 → wnids reversed
    from scipy.io import savemat

    dev = raw / "ILSVRC2012_devkit_t12" / "data"
    dev.mkdir(parents=True)
    ids = {wnids[2]: 1, wnids[1]: 2, wnids[0]: 3}
    synsets = np.array(
        [(ids[w], w, 0) for w in wnids] + [(1001, "n00000001", 3)],
        dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")],
    )
    savemat(str(dev / "meta.mat"), {"synsets": synsets})
    (dev / "ILSVRC2012_validation_ground_truth.txt").write_text("\n".join(str(ids[wnids[c]]) for c in truth) + "\n")
    got = {}
    for root in (tv, loc, raw):
        task = ImageNet(root)
        got[task.layout] = [(it.id, it.answer) for it in task.items()]
    assert set(got) == {"torchvision", "kaggle-loc", "raw"}
    assert got["torchvision"] == got["kaggle-loc"] == got["raw"]
    assert [a for _, a in got["raw"]] == truth


def test_imagenet_missing_layout_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="Expected: val/<wnid>"):
        ImageNet(tmp_path)


def test_clip_eval_on_imagenet_layout(tmp_path):
    for i, w in enumerate(["n01440764", "n01443537"]):
        _jpeg(tmp_path / "imagenet" / "val" / w / f"ILSVRC2012_val_{i + 1:08d}.JPEG", i)
    res = run_eval(_cfg(tmp_path / "r", tasks=["imagenet"], data_root=str(tmp_path)), progress=False)
    t = res["tasks"]["imagenet"]
    assert t["n"] == 2 and t["templates"] == 80 and t["metrics"]["top5"]["value"] == 1.0
    lines = [json.loads(x) for x in (tmp_path / "r" / "samples.jsonl").read_text().splitlines()]
    assert all(len(s["top5"]) == 2 for s in lines)


@pytest.mark.parametrize("kind", ["vit", "eva"])
def test_a_bare_open_clip_tower_swaps_in_whole(clip_specs, kind, tmp_path):
    """The LoRSU release layout (a bare `model.visual.state_dict()`, whose own blocks are `transformer.*` for a ViT)
    swaps in whole: every tensor is read and the features equal the source model's."""
    from harness.clip.evaluate import swap_clip_encoder
    from harness.clip.loading import load_clip

    source, target = load_clip(clip_specs[kind]), load_clip(clip_specs[kind])
    with torch.no_grad():
        for p in source.net.visual.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = tmp_path / "visual.pt"
    torch.save({k: v.clone() for k, v in source.net.visual.state_dict().items()}, path)
    report = swap_clip_encoder(target, str(path))
    assert report["tensors"] == len(source.net.visual.state_dict())
    x = torch.rand(2, 3, target.image_size, target.image_size)
    with torch.no_grad():
        assert torch.equal(source.net.visual(x), target.net.visual(x))

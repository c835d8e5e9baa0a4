"""Encoder swaps through the LLaVA-OneVision and LLaVA-NeXT adapters: accepted formats, refusals, scoring after."""

from __future__ import annotations

import json

import pytest
import torch

from harness.adapters.checkpoints import EncoderCheckpointError
from harness.eval.engine import Engine, Request, plain_forward_scores
from tests.conftest import random_image
from tests.harness.adapters.checkpoints.test_ckpt_siglip import open_clip_layout, timm_siglip
from tests.harness.adapters.tiny_families import build_tiny_llava_next, build_tiny_onevision


@pytest.fixture(scope="module")
def onevision_dir(tmp_path_factory):
    return build_tiny_onevision(tmp_path_factory.mktemp("ov"))


def _onevision(path):
    from harness.adapters.llava_onevision import LlavaOnevisionAdapter

    return LlavaOnevisionAdapter.load(str(path), device="cpu")


def _scores_equal_plain_forward(adapter):
    reqs = [
        Request(
            f"i{i}",
            random_image(i, size=40).resize(s),
            adapter.format_prompt("What is shown?"),
            ("red", "a blue triangle at the top", "B"),
            adapter.target_delimiter,
        )
        for i, s in enumerate([(40, 40), (30, 90)])
    ]
    for req, scores in zip(reqs, Engine(adapter, 2).score(reqs)):
        for s, ref in zip(scores, plain_forward_scores(adapter, req)):
            assert abs(s.logprob - ref) < 1e-4


def test_so400m_style_checkpoint_swaps_into_onevision_dropping_its_last_block(onevision_dir, tmp_path):
    src = timm_siglip(layers=3, act=None)  # one block deeper than the 2-block tower, timm's exact GELU
    path = tmp_path / "siglip_tuned.pt"
    torch.save(open_clip_layout(src), path)
    a = _onevision(onevision_dir)
    report = a.swap_encoder(str(path))
    assert report.format == "open_clip_siglip" and report.tower == "SigLIP ViT"
    assert any("dropped block 2 of 3" in n for n in report.notes)
    assert any("exact GELU" in n for n in report.notes)
    layer = a.vision_tower.encoder.layers[1]
    assert torch.equal(layer.mlp.fc2.weight, src.blocks[1].mlp.fc2.weight)
    assert torch.equal(layer.self_attn.k_proj.weight, src.blocks[1].attn.qkv.weight[32:64])
    _scores_equal_plain_forward(a)


def test_whole_onevision_checkpoint_is_an_hf_siglip_source(onevision_dir, tmp_path):
    other = build_tiny_onevision(tmp_path / "other", seed=5)
    a = _onevision(onevision_dir)
    report = a.swap_encoder(str(other))
    assert report.format == "hf_siglip" and report.tensors_replaced == report.tensors_total
    assert report.tensors_changed == report.tensors_total
    assert any(k.startswith(("language_model.", "model.language_model.")) for k in report.ignored)
    assert "image_newline" in report.ignored or "model.image_newline" in report.ignored
    b = _onevision(other)
    x = a.image_inputs([random_image(0)])["pixel_values"][0]
    with torch.no_grad():
        assert torch.equal(a.vision_tower(x).last_hidden_state, b.vision_tower(x).last_hidden_state)


def test_clip_and_eva_checkpoints_are_refused_by_onevision(onevision_dir, tiny_open_clip_ckpt, tmp_path):
    a = _onevision(onevision_dir)
    before = {k: v.clone() for k, v in a.vision_tower.state_dict().items()}
    with pytest.raises(EncoderCheckpointError, match="CLIP ViT checkpoint; the LLaVA-OneVision tower is a SigLIP"):
        a.swap_encoder(str(tiny_open_clip_ckpt))
    bad = open_clip_layout(timm_siglip(layers=5))
    torch.save(bad, tmp_path / "deep.pt")
    with pytest.raises(EncoderCheckpointError, match="depth: checkpoint has 5 blocks, tower has 2"):
        a.swap_encoder(str(tmp_path / "deep.pt"))
    assert all(torch.equal(v, before[k]) for k, v in a.vision_tower.state_dict().items())


def test_llava_next_takes_every_llava_format_and_refuses_siglip(tiny_open_clip_ckpt, tmp_path):
    from transformers import CLIPVisionModel

    from harness.adapters.llava_next import LlavaNextAdapter

    a = LlavaNextAdapter.load(str(build_tiny_llava_next(tmp_path / "next")), device="cpu")
    report = a.swap_encoder(str(tiny_open_clip_ckpt))
    assert report.format == "open_clip" and report.tower == "CLIP ViT"
    assert report.tensors_replaced == report.tensors_total
    hf = CLIPVisionModel(a.vision_tower.config)
    hf.load_state_dict(a.vision_tower.state_dict())
    hf.save_pretrained(tmp_path / "hf_clip")
    assert a.swap_encoder(str(tmp_path / "hf_clip")).format == "hf_clip"
    sd = {
        k.removeprefix("visual."): v
        for k, v in torch.load(tiny_open_clip_ckpt, weights_only=True).items()
        if k.startswith("visual.")
    }
    torch.save({"state_dict": sd, "epoch": 1}, tmp_path / "lorsu.pth")
    assert a.swap_encoder(str(tmp_path / "lorsu.pth")).format == "lorsu"
    torch.save(open_clip_layout(timm_siglip()), tmp_path / "sig.pt")
    with pytest.raises(EncoderCheckpointError, match="SigLIP ViT checkpoint; the LLaVA tower is a CLIP ViT"):
        a.swap_encoder(str(tmp_path / "sig.pt"))
    _scores_equal_plain_forward(a)


def test_eval_with_encoder_records_the_swap(onevision_dir, tmp_path):
    from harness.eval.runner import EvalConfig, run_eval
    from harness.tasks.toy_shapes import write_mcq_set

    path = tmp_path / "siglip.pt"
    torch.save(open_clip_layout(timm_siglip(layers=3)), path)
    data = write_mcq_set(tmp_path / "d", 4, seed=2)
    res = run_eval(
        EvalConfig(
            tasks=[f"mcq_jsonl={data}"],
            vlm="llava_onevision",
            model=str(onevision_dir),
            encoder=str(path),
            device="cpu",
            out=str(tmp_path / "run"),
        ),
        progress=False,
    )
    swap = res["encoder"]["swap_report"]
    assert swap["format"] == "open_clip_siglip" and any("dropped block 2 of 3" in n for n in swap["notes"])
    assert res["tasks"]["mcq_jsonl"]["n"] == 4
    assert json.loads((tmp_path / "run" / "results.json").read_text())["model"]["vlm"] == "llava_onevision"

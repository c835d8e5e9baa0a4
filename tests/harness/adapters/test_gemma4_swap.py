"""Encoder swaps into the real-geometry Gemma 4's vision tower (`Gemma4VisionModel`): its own HF names, alone or in a
whole Gemma 4 checkpoint, swap in and change the scores (which still equal a plain forward); the report says what
changed; another geometry is refused naming what differs, another family's tower is refused by its format, and the
tower is left bit-identical by every refusal."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from transformers import Gemma4VisionConfig, Gemma4VisionModel

from harness.adapters.checkpoints import EncoderCheckpointError, check_encoder_file
from harness.eval.engine import Engine, Request
from harness.toy.published_gemma import VISION_CONFIG
from harness.toy.real_geometry_gemma import VISION_SIZES
from tests.conftest import random_image
from tests.harness.adapters.test_gemma4_fixtures import gemma4_dir, gemma4_tok, plain_scores  # noqa: F401


@pytest.fixture(scope="module")
def adapter(gemma4_dir):  # noqa: F811
    from harness.adapters.gemma4 import Gemma4Adapter

    return Gemma4Adapter.load(str(gemma4_dir), dtype="float32", device="cpu")  # its own: the tests swap into it


def tuned_tower(adapter, seed: int = 7, scale: float = 0.05) -> dict[str, torch.Tensor]:
    """The tower's state dict with every finite float tensor moved (a stand-in for a tuned tower)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in adapter.vision_tower.state_dict().items():
        moved = torch.isfinite(v).all() and v.is_floating_point()
        out[k] = (v + scale * torch.randn(v.shape, generator=g)).contiguous() if moved else v.clone()
    return out


def other_geometry(**sizes) -> dict[str, torch.Tensor]:
    cfg = {k: v for k, v in {**VISION_CONFIG, **VISION_SIZES, **sizes}.items() if k != "model_type"}
    return Gemma4VisionModel(Gemma4VisionConfig(**cfg)).state_dict()


def score(adapter, seed: int = 1) -> tuple[Request, list[float]]:
    req = Request("s", random_image(seed).resize((300, 420)), adapter.format_prompt("Which?"), ("yes", "no"), "")
    return req, [s.logprob for s in Engine(adapter, batch_size=1).score([req])[0]]


def test_a_tuned_tower_swaps_in_and_changes_the_scores(adapter, tmp_path):
    _, before = score(adapter)
    sd = tuned_tower(adapter)
    path = tmp_path / "tower.safetensors"
    save_file(sd, str(path))
    assert check_encoder_file(path).name == "hf_gemma4_vision"  # torch-free, before any model loads
    report = adapter.swap_encoder(str(path))
    assert report.format == "hf_gemma4_vision" and report.tower == "Gemma 4 ViT"
    assert report.tensors_total == len(sd)
    bounds = [k for k in sd if k.rsplit(".", 1)[-1] in ("input_min", "input_max", "output_min", "output_max")]
    assert len(bounds) == 4 * 7 * 2  # q/k/v/o and gate/up/down in each of the 2 blocks
    # the clipping bounds are +-inf (no clipping) on both sides, left as they are and said so; the rest all change
    assert report.tensors_replaced == report.tensors_changed == len(sd) - len(bounds)
    assert f"{len(bounds)} clipping bound(s) are +-inf (no clipping) in the checkpoint and the tower" in report.notes[0]
    assert set(report.max_abs_change) == {"patch_embedder", "layer.0", "layer.1"}
    assert all(0 < d < 1 for d in report.max_abs_change.values())
    for k, v in sd.items():
        assert torch.equal(adapter.vision_tower.state_dict()[k], v), k
    req, after = score(adapter)
    assert max(abs(a - b) for a, b in zip(after, before)) > 1e-3
    assert after == pytest.approx(plain_scores(adapter, req), abs=1e-4)


def test_a_whole_gemma4_checkpoint_swaps_its_tower_and_ignores_the_rest(adapter, tmp_path):
    sd = {"model.vision_tower." + k: v for k, v in tuned_tower(adapter, seed=9).items()}
    whole = dict(adapter.model.state_dict())
    sd.update(
        {
            k: v.contiguous()
            for k, v in whole.items()
            if k.startswith(("model.embed_vision.", "model.language_model.layers.0."))
        }
    )
    save_file(sd, str(tmp_path / "model.safetensors"))
    report = adapter.swap_encoder(str(tmp_path / "model.safetensors"))
    assert (
        report.format == "hf_gemma4_vision"
        and report.tensors_changed == report.tensors_replaced == report.tensors_total - 56
    )
    assert report.ignored and all(
        k.startswith(("model.embed_vision.", "model.language_model.")) for k in report.ignored
    )


def test_another_geometry_is_refused_naming_what_differs(adapter, tmp_path):
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    for sizes, why in (
        ({"num_hidden_layers": 3}, "depth: checkpoint has 3 blocks, tower has 2"),
        ({"hidden_size": 48, "intermediate_size": 96}, "width: checkpoint hidden size is 48, tower's is 32"),
        ({"head_dim": 8, "num_attention_heads": 4, "num_key_value_heads": 4}, "head size: checkpoint 8, tower 16"),
        ({"patch_size": 14}, "patch size: checkpoint 14, tower 16"),
    ):
        path = tmp_path / f"{next(iter(sizes))}.safetensors"
        save_file(other_geometry(**sizes), str(path))
        with pytest.raises(EncoderCheckpointError, match="nothing was loaded") as e:
            adapter.swap_encoder(str(path))
        assert why in str(e.value) and "hf_gemma4_vision" in str(e.value)
    missing = {k: v for k, v in tuned_tower(adapter).items() if not k.startswith("encoder.layers.1.mlp.")}
    save_file(missing, str(tmp_path / "partial.safetensors"))
    with pytest.raises(EncoderCheckpointError, match=r"encoder\.layers\.1\.mlp\.down_proj\.linear\.weight"):
        adapter.swap_encoder(str(tmp_path / "partial.safetensors"))
    for k, v in adapter.vision_tower.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_another_familys_tower_is_refused(adapter, tmp_path):
    from transformers import SiglipVisionConfig, SiglipVisionModel

    siglip = SiglipVisionModel(SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                  num_attention_heads=2, image_size=32, patch_size=16))  # fmt: skip
    save_file({k: v.contiguous() for k, v in siglip.state_dict().items()}, str(tmp_path / "siglip.safetensors"))
    assert check_encoder_file(tmp_path / "siglip.safetensors").family == "siglip_vit"  # known before any load
    with pytest.raises(EncoderCheckpointError, match="SigLIP ViT checkpoint; the Gemma 4 tower is a Gemma 4 ViT"):
        adapter.swap_encoder(str(tmp_path / "siglip.safetensors"))


def test_harness_eval_refuses_another_familys_tower_in_one_line(gemma4_dir, tmp_path):  # noqa: F811
    import json

    from transformers import SiglipVisionConfig, SiglipVisionModel
    from typer.testing import CliRunner

    from harness.cli import app

    siglip = SiglipVisionModel(SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                  num_attention_heads=2, image_size=32, patch_size=16))  # fmt: skip
    save_file({k: v.contiguous() for k, v in siglip.state_dict().items()}, str(tmp_path / "siglip.safetensors"))
    random_image(0).save(tmp_path / "a.png")
    row = {"id": "a", "image": "a.png", "question": "Which?", "choices": ["yes", "no"], "answer": 0}
    (tmp_path / "mcq.jsonl").write_text(json.dumps(row) + "\n")
    args = ["eval", "--vlm", "gemma4", "--model", str(gemma4_dir), "--tasks", f"mcq_jsonl={tmp_path / 'mcq.jsonl'}"]
    args += ["--encoder", str(tmp_path / "siglip.safetensors"), "--device", "cpu", "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "SigLIP ViT checkpoint" in res.output and "nothing was loaded" in res.output
    assert "Traceback" not in res.output


def test_the_family_is_checked_from_the_tensor_names_before_any_model_loads(adapter, tmp_path):
    from transformers import SiglipVisionConfig, SiglipVisionModel

    from harness.adapters.registry import check_encoder_family

    save_file(tuned_tower(adapter), str(tmp_path / "gemma.safetensors"))
    check_encoder_family("gemma4", str(tmp_path / "gemma.safetensors"))  # fits: no error
    siglip = SiglipVisionModel(SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                                  num_attention_heads=2, image_size=32, patch_size=16))  # fmt: skip
    save_file({k: v.contiguous() for k, v in siglip.state_dict().items()}, str(tmp_path / "siglip.safetensors"))
    with pytest.raises(EncoderCheckpointError, match="--vlm gemma4 swaps only gemma4_vit towers; nothing was loaded"):
        check_encoder_family("gemma4", str(tmp_path / "siglip.safetensors"))
    with pytest.raises(EncoderCheckpointError, match="Gemma 4 ViT checkpoint .format hf_gemma4_vision.; --vlm llava"):
        check_encoder_family("llava", str(tmp_path / "gemma.safetensors"))

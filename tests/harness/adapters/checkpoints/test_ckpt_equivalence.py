"""End to end: every format loads into a transformers CLIP tower that reproduces the source model."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from transformers import CLIPVisionModel, CLIPVisionModelWithProjection

from harness.adapters.checkpoints import swap_encoder


def test_open_clip_state_dict_reproduces_open_clip(kit, pixels, tmp_path):
    model = kit.make_open_clip(seed=1)
    path = tmp_path / "open_clip.pt"
    torch.save(model.state_dict(), path)
    tower = kit.make_tower()
    # Before the swap the tower is its own random model: the comparison below can fail.
    assert not torch.allclose(
        kit.tower_hidden(tower, pixels).hidden_states[-2], kit.open_clip_blocks(model, pixels)[-2], atol=1e-3
    )

    report = swap_encoder(tower, path)

    assert report.format == "open_clip"
    assert report.tensors_replaced == report.tensors_total == len(tower.state_dict())
    assert "visual.proj" in report.ignored and "token_embedding.weight" in report.ignored
    kit.assert_matches_open_clip(tower, model, pixels)


def test_lorsu_mixed_precision_reproduces_rounded_open_clip(kit, pixels, tmp_path):
    model = kit.make_open_clip(seed=2)
    visual = model.visual.state_dict()
    halved = [k for k in visual if "in_proj" in k or k.startswith(("conv1", "ln_pre", "positional")) or "mlp.c_fc" in k]
    state = {k: (v.half() if k in halved else v.clone()) for k, v in visual.items()}
    path = tmp_path / "lorsu_epoch3.pth"
    torch.save({"epoch": 3, "state_dict": state}, path)
    # The reference runs open_clip with the same fp16-rounded weights.
    with torch.no_grad():
        for name, p in model.visual.named_parameters():
            if name in halved:
                p.copy_(p.half().float())

    tower = kit.make_tower()
    report = swap_encoder(tower, path)

    assert report.format == "lorsu"
    assert report.file_dtypes == {"float16": len(halved), "float32": len(visual) - len(halved)}
    assert report.tower_dtype == "float32"
    assert report.ignored == ["proj"]
    assert all(v.dtype == torch.float32 for v in tower.state_dict().values())
    kit.assert_matches_open_clip(tower, model, pixels)


class _OpenAIStyle(torch.nn.Module):
    """Exposes an open_clip model's parts under OpenAI's attribute names, plus OpenAI's scalars."""

    def __init__(self, clip: torch.nn.Module) -> None:
        super().__init__()
        self.visual = clip.visual
        self.transformer = clip.transformer
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.logit_scale = clip.logit_scale
        self.register_buffer("input_resolution", torch.tensor(32))
        self.register_buffer("context_length", torch.tensor(8))
        self.register_buffer("vocab_size", torch.tensor(50))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.visual(image)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_openai_torchscript_archive_reproduces_open_clip(kit, pixels, tmp_path):
    model = kit.make_open_clip(seed=3)
    traced = torch.jit.trace(_OpenAIStyle(model).eval(), pixels[:1], check_trace=False)
    path = tmp_path / "ViT-tiny.pt"
    traced.save(str(path))
    keys = set(traced.state_dict())
    assert {
        "visual.conv1.weight",
        "transformer.resblocks.0.attn.in_proj_weight",
        "token_embedding.weight",
        "input_resolution",
    } <= keys
    assert all(k.startswith(("visual.", "transformer.", "token_embedding.", "ln_final.")) or "." not in k for k in keys)

    tower = kit.make_tower()
    report = swap_encoder(tower, path)

    assert report.format == "openai_clip" and report.container == "torchscript"
    assert {"input_resolution", "context_length", "vocab_size", "visual.proj", "logit_scale"} <= set(report.ignored)
    kit.assert_matches_open_clip(tower, model, pixels)


def test_openai_plain_state_dict_is_detected_by_its_metadata(kit, pixels, tmp_path):
    model = kit.make_open_clip(seed=4)
    state = dict(
        model.state_dict(),
        input_resolution=torch.tensor(32),
        context_length=torch.tensor(8),
        vocab_size=torch.tensor(50),
    )
    path = tmp_path / "openai_plain.pt"
    torch.save(state, path)
    tower = kit.make_tower()
    assert swap_encoder(tower, path).format == "openai_clip"
    kit.assert_matches_open_clip(tower, model, pixels)


def _assert_tower_matches_hf(tower: CLIPVisionModel, source, pixels: torch.Tensor) -> None:
    with torch.no_grad():
        want = source.vision_model(pixel_values=pixels, output_hidden_states=True)
        got = tower(pixel_values=pixels, output_hidden_states=True)
    torch.testing.assert_close(got.last_hidden_state, want.last_hidden_state, atol=1e-5, rtol=0)
    torch.testing.assert_close(got.hidden_states[-2], want.hidden_states[-2], atol=1e-5, rtol=0)
    torch.testing.assert_close(got.pooler_output, want.pooler_output, atol=1e-5, rtol=0)


def test_hf_clip_model_directory_safetensors_and_bin(kit, pixels, tmp_path):
    source = kit.make_hf_clip(seed=5)
    source.save_pretrained(tmp_path / "clip_dir")
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, tmp_path / "clip.safetensors")
    torch.save(source.state_dict(), tmp_path / "pytorch_model.bin")

    for path in (tmp_path / "clip_dir", tmp_path / "clip.safetensors", tmp_path / "pytorch_model.bin"):
        tower = kit.make_tower()
        report = swap_encoder(tower, path)
        assert report.format == "hf_clip", path
        assert report.tensors_replaced == report.tensors_total, path
        assert "visual_projection.weight" in report.ignored and "logit_scale" in report.ignored
        assert not [k for k in report.ignored if k.startswith("vision_model.")]
        _assert_tower_matches_hf(tower, source, pixels)


def test_hf_sharded_directory(kit, pixels, tmp_path):
    source = kit.make_hf_clip(seed=6)
    source.save_pretrained(tmp_path / "sharded", max_shard_size="60KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    tower = kit.make_tower()
    report = swap_encoder(tower, tmp_path / "sharded")
    assert "shards" in report.container and len(report.files) > 3
    _assert_tower_matches_hf(tower, source, pixels)


def test_hf_vision_with_projection_directory(kit, pixels, tmp_path):
    torch.manual_seed(0)
    source = kit.randomize_(CLIPVisionModelWithProjection(kit.vision_config()), 8).eval()
    source.save_pretrained(tmp_path / "vwp")
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, tmp_path / "vwp.safetensors")
    for path in (tmp_path / "vwp", tmp_path / "vwp.safetensors"):
        tower = kit.make_tower()
        report = swap_encoder(tower, path)
        assert report.ignored == ["visual_projection.weight"], path
        _assert_tower_matches_hf(tower, source, pixels)


def test_hf_4x_style_prefixed_state_dict_in_pt(kit, pixels, tmp_path):
    source = kit.randomize_(kit.make_tower(seed=1), 9)
    old_style = {f"vision_model.{k}": v for k, v in source.state_dict().items()}
    old_style["vision_model.embeddings.position_ids"] = torch.arange(17)[None]  # as 4.x saved it
    path = tmp_path / "clip_vision_4x.pt"
    torch.save(old_style, path)
    tower = kit.make_tower()
    report = swap_encoder(tower, path)
    assert report.format == "hf_clip"
    assert report.ignored == ["vision_model.embeddings.position_ids"]
    with torch.no_grad():
        want = source(pixel_values=pixels, output_hidden_states=True)
        got = tower(pixel_values=pixels, output_hidden_states=True)
    assert torch.equal(got.hidden_states[-2], want.hidden_states[-2])
    assert torch.equal(got.last_hidden_state, want.last_hidden_state)


def test_llava_checkpoint_keys_load_only_the_tower(kit, tmp_path):
    source = kit.randomize_(kit.make_tower(seed=2), 10)
    state = {f"model.vision_tower.{k}": v for k, v in source.state_dict().items()}
    state["model.multi_modal_projector.linear_1.weight"] = torch.randn(8, 64)
    state["model.language_model.layers.0.mlp.up_proj.weight"] = torch.randn(8, 8)
    state["lm_head.weight"] = torch.randn(50, 8)
    path = tmp_path / "llava.safetensors"
    save_file(state, path)
    tower = kit.make_tower()
    report = swap_encoder(tower, path)
    assert report.ignored_count == 3 and report.tensors_replaced == report.tensors_total
    kit.assert_identical(tower, kit.snapshot(source))

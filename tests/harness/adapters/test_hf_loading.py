"""`from_pretrained` that transformers would complete with random tensors is refused, naming the keys."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import CLIPModel

from harness.adapters.hf_loading import check_model_dir, load_complete
from harness.clip.loading import load_clip
from harness.errors import InputNotFound, InvalidInput
from harness.toy.build import MODELS_DIR


def _copy_clip(tmp_path, edit):
    d = tmp_path / "clip"
    shutil.copytree(MODELS_DIR / "clip", d)
    sd = load_file(d / "model.safetensors")
    save_file(edit(sd), d / "model.safetensors", metadata={"format": "pt"})
    return d


def test_missing_tensors_are_refused_with_their_names(tmp_path):
    d = _copy_clip(tmp_path, lambda sd: {k: v for k, v in sd.items() if k != "text_projection.weight"})
    with pytest.raises(
        InvalidInput, match=r"--clip .*1 tensors missing from the files, e\.g\. text_projection\.weight"
    ):
        load_clip(str(d), option="--clip")


def test_unexpected_tensors_are_refused_unless_allowed(tmp_path):
    import torch

    d = _copy_clip(tmp_path, lambda sd: {**sd, "extra.head.weight": torch.zeros(2)})
    with pytest.raises(InvalidInput, match=r"in the files but not in the model, e\.g\. extra\.head\.weight"):
        load_complete(CLIPModel, d, "--model")
    assert load_complete(CLIPModel, d, "--model", allow_unexpected=[r"^extra\."]) is not None


def test_the_committed_toy_clip_loads_complete():
    assert isinstance(load_complete(CLIPModel, MODELS_DIR / "clip", "--model"), CLIPModel)


def test_model_dir_checks_family_and_weights(tmp_path):
    with pytest.raises(InvalidInput, match=r"holds a 'llava' model \(LlavaForConditionalGeneration\)"):
        check_model_dir(MODELS_DIR / "llava", "--clip", ("clip",))
    (tmp_path / "config.json").write_text('{"model_type": "clip"}')
    with pytest.raises(InputNotFound, match="no weight files"):
        check_model_dir(tmp_path, "--clip", ("clip",))
    (tmp_path / "config.json").write_text('{"model_type": "cl')
    with pytest.raises(InvalidInput, match="not valid JSON"):
        check_model_dir(tmp_path, "--clip", ("clip",))


def _same_weights(a, b) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


def test_pread_load_equals_transformers_own_load(monkeypatch):
    """The lean path (config + pread tensors) gives the model `from_pretrained(model_dir)` gives, bit for bit."""
    import safetensors
    from transformers import LlavaForConditionalGeneration

    backends = []
    real_open = safetensors.safe_open

    def spy(*args, **kwargs):
        backends.append(kwargs.get("backend"))
        return real_open(*args, **kwargs)

    d = MODELS_DIR / "llava"
    monkeypatch.setattr(safetensors, "safe_open", spy)
    ours = load_complete(LlavaForConditionalGeneration, d, "--model", dtype=torch.bfloat16)
    assert backends == ["pread"]  # never memory-mapped: mapped pages would stay resident while converting
    monkeypatch.undo()
    theirs = LlavaForConditionalGeneration.from_pretrained(d, dtype=torch.bfloat16)
    _same_weights(ours, theirs)
    assert ours.generation_config.to_dict() == theirs.generation_config.to_dict()
    assert ours.config.name_or_path == str(d)


def test_sharded_checkpoints_load_through_their_index(tmp_path):
    CLIPModel.from_pretrained(MODELS_DIR / "clip").save_pretrained(tmp_path, max_shard_size="100KB")
    shards = sorted(p.name for p in tmp_path.glob("model-*.safetensors"))
    assert len(shards) > 1 and (tmp_path / "model.safetensors.index.json").is_file()
    _same_weights(load_complete(CLIPModel, tmp_path, "--model"), CLIPModel.from_pretrained(MODELS_DIR / "clip"))

    (tmp_path / shards[-1]).unlink()
    with pytest.raises(InputNotFound, match=rf"index\.json: names shard files that are absent: {shards[-1]}"):
        load_complete(CLIPModel, tmp_path, "--model")
    (tmp_path / "model.safetensors.index.json").write_text('{"metadata": {}}')
    with pytest.raises(InvalidInput, match=r"index\.json: expected JSON with a 'weight_map'"):
        load_complete(CLIPModel, tmp_path, "--model")


def test_a_corrupt_safetensors_file_is_named(tmp_path):
    d = tmp_path / "clip"
    shutil.copytree(MODELS_DIR / "clip", d)
    (d / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(InvalidInput, match=r"clip/model\.safetensors: not a readable safetensors file"):
        load_complete(CLIPModel, d, "--model")


def test_tied_embeddings_stay_tied(tmp_path):
    """A checkpoint without lm_head (tie_word_embeddings, as Qwen2-0.5B in LLaVA-OneVision-0.5B) loads tied."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    ours = load_complete(LlamaForCausalLM, tmp_path, "--model", dtype=torch.bfloat16)
    assert ours.lm_head.weight.data_ptr() == ours.model.embed_tokens.weight.data_ptr()
    _same_weights(ours, LlamaForCausalLM.from_pretrained(tmp_path, dtype=torch.bfloat16))

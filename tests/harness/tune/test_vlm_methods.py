"""Every method through the VLM objective, on separate q/k/v (LLaVA's CLIP) and a fused EVA qkv (BLIP-2): a session
leaves the projector and the LLM bit-identical, exports a tower that swaps back into the family exactly, and LoRSU
changes only its selected heads' q/k/v rows, its fc1 mask and the released biases, never a block the VLM does not
read, and never EVA's zero k bias."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from harness.tasks.toy_world import ToyWorldTask
from harness.tune.config import TOWER_METHODS, TuneConfig
from harness.tune.run import tune
from harness.tune.vlm_data import question_answers
from harness.tune.vlm_target import VlmTarget


def _cfg(method: str, **kw) -> TuneConfig:
    return TuneConfig(
        method=method, objective="vlm", epochs=1, lr=1e-2, batch_size=8, rank=4, top_k_heads=1,
        importance_samples=16, **kw,
    )  # fmt: skip


def _run(adapter, method: str, out, protocol: str = "offline"):
    task = ToyWorldTask("target", "train", size=24)
    data = question_answers(task, adapter.family, "official")
    target = VlmTarget(adapter)
    target.check(data)
    cfg = _cfg(method, protocol=protocol, sessions=3, shots=2)
    return tune(target, data, cfg, out, task="toy_target", progress=False)


def _changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: before[k] != after[k] for k in before if not torch.equal(before[k], after[k])}


@pytest.mark.parametrize("family", ["llava", "blip2"])
@pytest.mark.parametrize("method", TOWER_METHODS)
def test_a_session_changes_the_tower_only_and_swaps_back(family, method, tiny_vlm, tmp_path):
    adapter = tiny_vlm(family)
    tower_ids = {id(p) for p in adapter.vision_tower.parameters()}
    frozen = {n: p.detach().clone() for n, p in adapter.model.named_parameters() if id(p) not in tower_ids}
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    record = _run(adapter, method, tmp_path / "out")
    now = dict(adapter.model.named_parameters())
    assert all(torch.equal(now[n], v) for n, v in frozen.items()), "the projector or the LLM changed"
    session = record["sessions"][0]
    path = tmp_path / "out" / "session-1" / session["files"]["release"]
    exported = load_file(str(path))
    changed = _changed(before, exported)
    assert changed, f"{method} changed nothing"
    layers = len(adapter.vision_tower.encoder.layers)
    if family == "llava":  # feature layer -2: the last block is never read
        assert not [k for k in changed if f"layers.{layers - 1}." in k]
    assert not [k for k in changed if k.startswith("post_layernorm")]
    fresh = tiny_vlm(family)
    report = fresh.swap_encoder(str(path))
    assert all(torch.equal(v, exported[k]) for k, v in fresh.vision_tower.state_dict().items())
    assert report.to_dict()["format"] == ("hf_eva" if family == "blip2" else "hf_clip")
    cost = json.loads((tmp_path / "out" / "tune.json").read_text())["cost"]
    assert cost["flops_per_step"] > 0 and cost["trainable"] == session["parameters"]["trainable"] > 0


@pytest.mark.parametrize("family", ["llava", "blip2"])
def test_lorsu_changes_its_heads_rows_and_fc1_mask_only(family, tiny_vlm, tmp_path):
    adapter = tiny_vlm(family)
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    record = _run(adapter, "lorsu", tmp_path / "out")
    session = record["sessions"][0]
    exported = load_file(str(tmp_path / "out" / "session-1" / session["files"]["release"]))
    changed = _changed(before, exported)
    allowed = ("self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj.", "self_attn.qkv.", "mlp.fc1.")
    assert all(any(a in k for a in allowed) for k in changed), sorted(changed)
    heads = session["method_info"]["heads"]
    cfg = adapter.vision_tower.config
    dim, hd = cfg.hidden_size, cfg.hidden_size // cfg.num_attention_heads
    for i, selected in enumerate(heads):
        rows = torch.zeros(dim, dtype=torch.bool)
        for h in selected:
            rows[h * hd : (h + 1) * hd] = True
        prefix = f"encoder.layers.{i}."
        if family == "blip2":
            w = changed.get(prefix + "self_attn.qkv.weight")
            if w is not None:
                assert not w[~rows.repeat(3)].any(), f"block {i}: rows outside heads {selected} changed"
            b = changed.get(prefix + "self_attn.qkv.bias")
            assert b is None or not b[dim : 2 * dim].any(), "the k third of the fused bias moved"
        else:
            for part in ("q_proj", "k_proj", "v_proj"):
                w = changed.get(prefix + f"self_attn.{part}.weight")
                assert w is None or not w[~rows].any(), f"block {i} {part}: rows outside heads {selected} changed"
        fc1 = changed.get(prefix + "mlp.fc1.weight")
        if fc1 is not None:
            assert int(fc1.sum()) <= int(fc1.numel() * 0.1)
    assert len(heads) == (len(adapter.vision_tower.encoder.layers) - (1 if family == "llava" else 0))


def test_continual_sessions_label_themselves_and_resume(tiny_vlm, tmp_path):
    adapter = tiny_vlm("llava")
    record = _run(adapter, "lorsu", tmp_path / "cl", protocol="continual")
    assert [s["session"] for s in record["sessions"]] == [1, 2, 3]
    classes = [set(s["classes"]) for s in record["sessions"]]
    assert not (classes[0] & classes[1]) and not (classes[1] & classes[2])
    for s in record["sessions"]:
        info = json.loads((tmp_path / "cl" / f"session-{s['session']}" / "session.json").read_text())
        assert info["files"]["release"].startswith(f"checkpoint_session-{s['session']}_")
        # the items drawn: as many ids as images, every one of the session's classes, no item in two sessions
        assert len(info["item_ids"]) == info["images"] == len(set(info["item_ids"]))
    ids = [
        set(json.loads((tmp_path / "cl" / f"session-{k}" / "session.json").read_text())["item_ids"]) for k in (1, 2, 3)
    ]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])
    again = _run(tiny_vlm("llava"), "lorsu", tmp_path / "cl", protocol="continual")
    assert all(s.get("skipped_on_resume") for s in again["sessions"])


@pytest.mark.parametrize("method", ["lora-llm", "lora-llm-last", "lora-full"])
def test_llm_side_baselines_export_a_peft_adapter_for_their_base_model(method, tiny_vlm, tmp_path):
    from peft import PeftModel

    adapter = tiny_vlm("llava")
    tower = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    task = ToyWorldTask("target", "train", size=16)
    cfg = _cfg(method, last_layers=1)
    record = tune(VlmTarget(adapter), question_answers(task, "llava", "official"), cfg, tmp_path / "o", task="toy")
    peft_dir = tmp_path / "o" / "session-1" / "peft"
    meta = json.loads((peft_dir / "harness_peft.json").read_text())
    assert meta["vlm"] == "llava" and meta["method"] == method and meta["weights_sha256"]
    assert (peft_dir / "adapter_model.safetensors").is_file() and (peft_dir / "adapter_config.json").is_file()
    keys = load_file(str(peft_dir / "adapter_model.safetensors"))
    assert any("lora_B" in k and v.abs().max() > 0 for k, v in keys.items()), "LoRA B never moved"
    in_tower = [k for k in keys if "vision_tower" in k]
    assert bool(in_tower) == (method == "lora-full")
    layers = {int(k.split("layers.")[1].split(".")[0]) for k in keys if "language_model.layers." in k}
    n = len(adapter.model.model.language_model.layers)
    assert layers == ({n - 1} if method == "lora-llm-last" else set(range(n)))
    fresh = tiny_vlm("llava")
    merged = PeftModel.from_pretrained(fresh.model, str(peft_dir)).merge_and_unload()
    assert torch.equal(merged.model.vision_tower.state_dict()["encoder.layers.0.mlp.fc1.weight"],
                       tower["encoder.layers.0.mlp.fc1.weight"]) == (method != "lora-full")  # fmt: skip
    assert record["parameters"]["trainable"] > 0


def test_llm_side_baselines_are_refused_with_the_contrastive_objective_and_for_minigptv2(tiny_vlm):
    from harness.errors import InvalidInput

    with pytest.raises(InvalidInput, match="runs through the VLM"):
        TuneConfig(method="lora-llm")
    with pytest.raises(InvalidInput, match="already carries"):
        VlmTarget(tiny_vlm("minigptv2")).check_method("lora-llm")


@pytest.mark.parametrize("family", ["llava_next", "llava_onevision", "instructblip", "minigptv2"])
def test_lorsu_through_every_other_family_exports_a_tower_that_swaps_back(family, tiny_vlm, tmp_path):
    """Any-res tiles (images of several sizes in one batch), the Q-Former reading the prompt, MiniGPT-v2's EVA."""
    adapter = tiny_vlm(family)
    before = {k: v.clone() for k, v in adapter.vision_tower.state_dict().items()}
    task = ToyWorldTask("target", "train", size=16)
    data = question_answers(task, family, "official")
    if family.startswith("llava_"):
        sizes = [(40, 40), (64, 32), (32, 64)]
        data.samples = [(task.load_image(it).resize(sizes[i % 3]), c) for i, (it, (_, c)) in
                        enumerate(zip(task.items(), data.samples))]  # fmt: skip
    record = tune(VlmTarget(adapter), data, _cfg("lorsu"), tmp_path / "o", task="toy", progress=False)
    path = tmp_path / "o" / "session-1" / record["sessions"][0]["files"]["release"]
    exported = load_file(str(path))
    assert _changed(before, exported)
    fresh = tiny_vlm(family)
    fresh.swap_encoder(str(path))
    assert all(torch.equal(v, exported[k]) for k, v in fresh.vision_tower.state_dict().items())

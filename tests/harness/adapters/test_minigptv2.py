"""MiniGPT-v2 on transformers + peft: prompt ids, vision path, official-layout loading, exact scoring."""

from __future__ import annotations

import pytest
import sentencepiece as spm
import torch

from harness.adapters.checkpoints import EncoderCheckpointError
from harness.adapters.minigptv2 import MiniGPTv2Adapter
from harness.adapters.minigptv2_loading import MiniGPTv2CheckpointError
from harness.adapters.minigptv2_model import IMAGE_PLACEHOLDER
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.toy.tiny_minigptv2 import build_tiny_minigptv2
from tests.conftest import random_image


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return build_tiny_minigptv2(tmp_path_factory.mktemp("mgv2"))


@pytest.fixture(scope="module")
def adapter(files):
    return MiniGPTv2Adapter.load(
        str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]), device="cpu"
    )


def test_prompt_ids_double_bos_and_chunks_encoded_like_the_slow_tokenizer(adapter, files, tmp_path):
    # The original (transformers 4.30, slow tokenizer) sentencepiece-encodes each chunk around the literal
    # <s> with the ▁ dummy prefix: rebuild that reference with the sentencepiece library itself.
    from harness.toy.tokenizer import train_tokenizer

    train_tokenizer(tmp_path)  # same corpus and settings → the same model as the tiny Llama's tokenizer
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "_spm" / "tokenizer.model"))
    q = "[vqa] Based on the image, is this statement true or false? The cat is on the table."
    ids = adapter.encode(adapter.format_prompt(q))
    n = adapter.image_tokens
    expected = [1, 1] + sp.encode("[INST] <Img>") + [IMAGE_PLACEHOLDER] * n + sp.encode(f"</Img> {q} [/INST]")
    assert ids == expected
    assert sp.id_to_piece(ids[2]).startswith("▁")  # legacy "▁[" after the literal <s>
    assert adapter.format_prompt("X") == "<s>[INST] <Img><ImageHere></Img> X [/INST]"


def test_image_tokens_are_1x4_raster_strips(adapter):
    model = adapter.model
    pv = adapter.pixel_values([random_image(3)])
    with torch.no_grad():
        feats = model.visual_encoder(pixel_values=pv).last_hidden_state  # includes ln_vision (post_layernorm)
        merged = model.encode_img(pv)
        w = feats.shape[-1]
        strip = torch.cat([feats[:, 1 + j] for j in range(4)], dim=-1)  # patches (0,0)..(0,3) of row 0
        assert torch.allclose(merged[:, 0], model.llama_proj(strip), atol=1e-6)
    assert merged.shape[1] == adapter.image_tokens == (feats.shape[1] - 1) // 4
    assert model.visual_encoder.post_layernorm.eps == 1e-5 and w == 32


def test_preprocessing_is_pil_bicubic_resize_and_clip_normalisation(adapter):
    import numpy as np
    from PIL import Image

    im = random_image(5, size=57)
    ref = np.asarray(im.resize((adapter.image_size,) * 2, Image.BICUBIC), dtype=np.float32) / 255.0
    ref = (ref - np.array([0.48145466, 0.4578275, 0.40821073])) / np.array([0.26862954, 0.26130258, 0.27577711])
    got = adapter.pixel_values([im])[0].permute(1, 2, 0).numpy()
    assert np.abs(got - ref).max() < 1e-5


@pytest.mark.parametrize("batch_size", [1, 4])
def test_scores_equal_a_plain_forward_without_cache(adapter, batch_size):
    qs = [
        "[vqa] What color is the shape?",
        "This is an image writting 'hi'. Is this image hateful? Answer yes or no. Answer:",
    ]
    opts = [("red", "dark green", "a blue triangle at the top", "A"), ("yes", "no")]
    reqs = [Request(f"i{i}", random_image(i), adapter.format_prompt(qs[i % 2]), opts[i % 2]) for i in range(6)]
    got = Engine(adapter, batch_size).score(reqs)
    for req, scores in zip(reqs, got):
        for s, ref in zip(scores, plain_forward_scores(adapter, req)):
            assert abs(s.logprob - ref) < 1e-4


def test_checkpoints_really_load(adapter, files):
    sd = torch.load(files["minigptv2_ckpt"], weights_only=True)["model"]
    model = adapter.model
    assert torch.equal(model.llama_proj.weight, sd["llama_proj.weight"])
    key = "llama_model.base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"
    assert torch.equal(
        model.llama_model.base_model.model.model.layers[1].self_attn.v_proj.lora_B["default"].weight, sd[key]
    )
    eva = torch.load(files["eva_ckpt"], weights_only=True)
    qkv = model.visual_encoder.encoder.layers[0].self_attn.qkv
    assert torch.equal(qkv.weight, eva["blocks.0.attn.qkv.weight"])
    w = eva["blocks.0.attn.q_bias"].numel()
    assert torch.equal(qkv.bias, torch.cat([eva["blocks.0.attn.q_bias"], torch.zeros(w), eva["blocks.0.attn.v_bias"]]))
    pos = torch.nn.functional.interpolate(
        eva["pos_embed"][:, 1:].reshape(1, 2, 2, -1).permute(0, 3, 1, 2),
        size=(4, 4),
        mode="bicubic",
        align_corners=False,
    )
    got = model.visual_encoder.embeddings.position_embedding
    assert torch.allclose(got[0, 1:], pos.permute(0, 2, 3, 1).reshape(16, -1), atol=1e-6)
    assert torch.equal(got[0, 0], eva["pos_embed"][0, 0])
    report = adapter.describe()["loading"]
    assert report["minigptv2_ckpt"]["loaded"]["lora"] == 8
    eva_report = report["eva_ckpt"]
    assert eva_report["format"] == "eva_clip" and eva_report["tensors_replaced"] == eva_report["tensors_total"] - 2
    assert any("dropped block 2 of 3" in n for n in eva_report["notes"])


def _rewrite(src, dst, fn):
    ck = torch.load(src, weights_only=True)
    torch.save(fn(ck), dst)
    return dst


def test_silent_partial_loads_are_refused(files, tmp_path):
    m, e = str(files["model"]), str(files["eva_ckpt"])
    # LoRA under names modern peft would not match (no base_model.model. path) → refused, not skipped
    bad = _rewrite(
        files["minigptv2_ckpt"],
        tmp_path / "a.pth",
        lambda ck: {"model": {k.replace("base_model.model.", ""): v for k, v in ck["model"].items()}},
    )
    with pytest.raises(MiniGPTv2CheckpointError, match="expected 8 LoRA tensors") as err:
        MiniGPTv2Adapter.load(m, str(bad), e, device="cpu")
    # the first offending keys as they appear in the file, each with the name it should have had
    assert (
        "llama_model.model.layers.0.self_attn.q_proj.lora_A.weight "
        "(expected llama_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight)"
    ) in str(err.value)
    assert "8 LoRA keys in the file match no model tensor" in str(err.value)
    no_proj = _rewrite(
        files["minigptv2_ckpt"],
        tmp_path / "b.pth",
        lambda ck: {"model": {k: v for k, v in ck["model"].items() if not k.startswith("llama_proj")}},
    )
    with pytest.raises(MiniGPTv2CheckpointError, match="llama_proj"):
        MiniGPTv2Adapter.load(m, str(no_proj), e, device="cpu")
    modern = _rewrite(
        files["minigptv2_ckpt"],
        tmp_path / "c.pth",
        lambda ck: {
            "model": {k.replace(".weight", ".default.weight") if "lora_" in k else k: v for k, v in ck["model"].items()}
        },
    )
    MiniGPTv2Adapter.load(m, str(modern), e, device="cpu")  # modern peft names are accepted
    shallow = _rewrite(
        files["eva_ckpt"],
        tmp_path / "d.pth",
        lambda ck: {k: v for k, v in ck.items() if not k.startswith(("blocks.1.", "blocks.2."))},
    )
    with pytest.raises(EncoderCheckpointError, match="checkpoint has 1 blocks, tower has 2"):
        MiniGPTv2Adapter.load(m, str(files["minigptv2_ckpt"]), str(shallow), device="cpu")
    with pytest.raises(ValueError, match="needs --minigptv2-ckpt"):
        MiniGPTv2Adapter.load(m, None, e, device="cpu")
    garbage = tmp_path / "g.pth"
    garbage.write_bytes(b"nope")
    with pytest.raises(MiniGPTv2CheckpointError, match="weights_only=True"):
        MiniGPTv2Adapter.load(m, str(garbage), e, device="cpu")


def test_batched_generation_equals_one_at_a_time(adapter):
    qs = ["[vqa] What is this?", "[vqa] Based on the image, is this statement true or false? A cat.", "Hi"]
    ctxs = [adapter.encode(adapter.format_prompt(q)) for q in qs]
    ims = [random_image(i) for i in range(3)]
    batched = adapter.generate(ims, ctxs, 6)
    assert batched == [adapter.generate([im], [c], 6)[0] for im, c in zip(ims, ctxs)]
    assert all(isinstance(t, str) for t in batched)


def test_eval_end_to_end(files, tmp_path):
    from harness.eval.runner import EvalConfig, run_eval
    from harness.tasks.toy_shapes import write_mcq_set

    data = write_mcq_set(tmp_path / "d", 6, seed=4)
    res = run_eval(
        EvalConfig(
            tasks=[f"mcq_jsonl={data}"],
            vlm="minigptv2",
            model=str(files["model"]),
            minigptv2_ckpt=str(files["minigptv2_ckpt"]),
            eva_ckpt=str(files["eva_ckpt"]),
            device="cpu",
            out=str(tmp_path / "run"),
        ),
        progress=False,
    )
    assert res["tasks"]["mcq_jsonl"]["n"] == 6
    assert res["model"]["prompt_template"] == "<s>[INST] <Img><ImageHere></Img> {instruction} [/INST]"
    assert set(res["model"]["loading"]) == {"minigptv2_ckpt", "eva_ckpt"}


def test_encoder_swap_from_an_open_clip_eva_checkpoint(files, tmp_path):
    from tests.harness.adapters.checkpoints.test_ckpt_eva_swap import timm_eva

    src = timm_eva(img_size=16)  # same geometry as the tiny tower, 2x2 grid like a 224-px release
    path = tmp_path / "eva_tuned.pt"
    torch.save({"visual.trunk." + k: v for k, v in src.state_dict().items()}, path)
    a = MiniGPTv2Adapter.load(str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]), device="cpu")
    ln_before = a.model.visual_encoder.post_layernorm.weight.clone()
    report = a.swap_encoder(str(path))
    assert report.format == "eva_clip" and report.tower == "EVA ViT-g"
    assert torch.equal(a.model.visual_encoder.encoder.layers[1].mlp.fc2.weight, src.blocks[1].mlp.fc2.weight)
    assert torch.equal(a.model.visual_encoder.post_layernorm.weight, ln_before)  # ln_vision is MiniGPT-v2's
    with pytest.raises(EncoderCheckpointError, match="LLaVA tower is a CLIP ViT"):
        from harness.adapters.llava import LlavaAdapter
        from harness.toy.tiny_llava import build_tiny_llava

        LlavaAdapter.load(str(build_tiny_llava(tmp_path / "llava")), device="cpu").swap_encoder(str(path))


def test_six_tasks_with_the_minigptv2_prompt_family(files, tmp_path):
    from harness.eval.runner import EvalConfig, run_eval
    from tests.harness.tasks.fixtures import build_all_fixtures

    build_all_fixtures(tmp_path / "data")
    common = dict(
        vlm="minigptv2",
        model=str(files["model"]),
        minigptv2_ckpt=str(files["minigptv2_ckpt"]),
        eva_ckpt=str(files["eva_ckpt"]),
        device="cpu",
        data_root=str(tmp_path / "data"),
        limit=3,
    )
    res = run_eval(
        EvalConfig(tasks=["tsi", "gts", "dalle", "vizwiz", "vsr", "hm"], out=str(tmp_path / "l"), **common),
        progress=False,
    )
    assert all(t["n"] == 3 for t in res["tasks"].values())
    gen = run_eval(
        EvalConfig(tasks=["vsr", "hm"], mode="generate", max_new_tokens=2, out=str(tmp_path / "g"), **common),
        progress=False,
    )
    import json

    prompts = [json.loads(x)["prompt"] for x in (tmp_path / "g" / "samples.jsonl").read_text().splitlines()]
    assert any("[vqa] Based on the image, is this statement true or false?" in p for p in prompts)
    assert any("Is this image hateful? Answer yes or no. Answer:" in p and "[vqa]" not in p for p in prompts)
    assert gen["tasks"]["vsr"]["n"] == 3

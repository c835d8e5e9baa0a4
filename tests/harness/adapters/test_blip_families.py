"""BLIP-2 and InstructBLIP: exact scoring from the shared prefix, the Q-Former reading the prompt only, EVA swaps."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.checkpoints import EncoderCheckpointError
from harness.eval.engine import Engine, plain_forward_scores
from tests.conftest import random_image
from tests.harness.adapters.family_checks import (
    assert_batched_generation_equals_one_at_a_time,
    assert_engine_equals_plain,
    family_requests,
    six_tasks_through_the_cli,
)
from tests.harness.adapters.tiny_blip import build_tiny_blip2, build_tiny_instructblip
from tests.harness.eval.test_engine_exact import QUESTIONS

BLIP_QUESTION = "Question: {q} Answer:"


@pytest.fixture(scope="module", params=["blip2", "instructblip"])
def adapter(request, tmp_path_factory):
    if request.param == "blip2":
        from harness.adapters.blip2 import Blip2Adapter as cls

        path = build_tiny_blip2(tmp_path_factory.mktemp("blip2"))
    else:
        from harness.adapters.instructblip import InstructBlipAdapter as cls

        path = build_tiny_instructblip(tmp_path_factory.mktemp("iblip"))
    return cls.load(str(path), device="cpu")


def test_ids_match_the_processor(adapter):
    for text in (
        "Question: What color is the shape? Answer:",
        "Question: Based on the image, is this statement true or false? The cat is on the table.\n"
        "A. true\nB. false\nAnswer with the option's letter from the given choices directly. Answer:",
    ):
        ref = adapter.processor(text=text, images=random_image(0), return_tensors="pt")
        ids = adapter.encode(text)
        assert ids == ref.input_ids[0].tolist()
        if adapter.family == "instructblip":
            assert adapter.prompt_text(ids) == text
            assert adapter.qformer_inputs([ids])["qformer_input_ids"][0].tolist() == ref.qformer_input_ids[0].tolist()


@pytest.mark.parametrize("batch_size", [1, 4])
def test_engine_equals_plain_forward(adapter, batch_size):
    assert_engine_equals_plain(adapter, family_requests(adapter, 8, BLIP_QUESTION), batch_size)


def test_reference_is_the_processor_forward_with_the_prompt_alone_in_the_qformer(adapter):
    req = family_requests(adapter, 2, BLIP_QUESTION)[1]
    inputs = adapter.processor(text=req.context, images=req.image, return_tensors="pt")
    option = adapter.encode(req.context + " dark green")[len(inputs.input_ids[0]) :]
    inputs["input_ids"] = torch.cat([inputs.input_ids, torch.tensor([option])], 1)
    inputs["attention_mask"] = torch.ones_like(inputs.input_ids)
    with torch.no_grad():
        ref = torch.log_softmax(adapter.model(**inputs).logits[0].float(), -1)
    ids = inputs.input_ids[0].tolist()
    n = len(ids) - len(option)
    assert (adapter.full_logprobs(req.image, ids, n_context=n) - ref).abs().max() < 1e-5
    if adapter.family == "instructblip":  # a Q-Former that also read the option would give other scores
        assert (adapter.full_logprobs(req.image, ids) - ref).abs().max() > 1e-3


def test_visual_prefix_depends_on_the_question_for_instructblip_only(adapter):
    im = random_image(3)
    a, b = (adapter.encode(f"Question: {q} Answer:") for q in QUESTIONS[:2])
    pv = adapter.image_inputs([im, im])["pixel_values"]
    with torch.no_grad():
        if adapter.family == "instructblip":
            feats = adapter.model.get_image_features(pv, **adapter.qformer_inputs([a, b])).pooler_output
        else:
            feats = adapter.model.get_image_features(pv).pooler_output
    diff = (feats[0] - feats[1]).abs().max()
    assert (diff > 1e-5) if adapter.family == "instructblip" else (diff < 1e-6)


def test_a_prompt_longer_than_the_qformer_positions_is_cut_to_them(adapter):
    if adapter.family != "instructblip":  # BLIP-2's Q-Former reads no text
        assert "qformer_max_tokens" not in adapter.describe() and not hasattr(adapter, "qformer_inputs")
        return
    limit = adapter.model.config.qformer_config.max_position_embeddings
    long = adapter.encode("Question: " + " ".join(["what color is the big shape"] * 40) + " Answer:")
    full = adapter.processor.qformer_tokenizer(adapter.prompt_text(long))["input_ids"]
    assert len(full) > limit  # the processor itself does not cut: the model would fail on these positions
    short = adapter.encode("Question: what color? Answer:")
    q = adapter.qformer_inputs([long, short])
    assert q["qformer_input_ids"].shape[1] == limit
    assert q["qformer_input_ids"][0].tolist() == full[: limit - 1] + [full[-1]]  # [SEP] kept at the end
    assert q["qformer_attention_mask"][1].sum() < limit
    assert_engine_equals_plain(adapter, family_requests(adapter, 2, "Question: " + "what? " * 150 + "{q} Answer:"), 2)


def test_batched_generation_equals_one_at_a_time(adapter):
    assert_batched_generation_equals_one_at_a_time(adapter)


def test_eva_checkpoints_swap_into_the_224px_tower(adapter, tiny_open_clip_ckpt, tmp_path):
    from tests.harness.adapters.checkpoints.test_ckpt_eva_swap import penultimate, timm_eva

    src = timm_eva(img_size=16)  # 3 blocks at the tower's 2x2 grid: the 40-vs-39-block case in small
    path = tmp_path / "eva.pt"
    torch.save({"visual.trunk." + k: v for k, v in src.state_dict().items()}, path)
    ln = adapter.vision_tower.post_layernorm.weight.clone()
    report = adapter.swap_encoder(str(path))
    assert report.format == "eva_clip" and any("dropped block 2 of 3" in n for n in report.notes)
    assert report.position_interpolation is None and not any("position grid" in n for n in report.notes)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        h = adapter.vision_tower(pixel_values=x, output_hidden_states=True).hidden_states[-1]
    assert (h - penultimate(src, x)).abs().max() < 1e-5
    assert torch.equal(adapter.vision_tower.post_layernorm.weight, ln)  # ln_vision is the VLM's own
    big = timm_eva(img_size=32)  # a 4x4-grid EVA: resized to the tower's 2x2 like LAVIS does
    torch.save({"visual.trunk." + k: v for k, v in big.state_dict().items()}, tmp_path / "eva448.pt")
    assert any("position grid 4x4 -> 2x2" in n for n in adapter.swap_encoder(str(tmp_path / "eva448.pt")).notes)
    with pytest.raises(EncoderCheckpointError, match="CLIP ViT checkpoint; the MiniGPT-v2 / BLIP-2 / InstructBLIP"):
        adapter.swap_encoder(str(tiny_open_clip_ckpt))
    deep = {k: v for k, v in src.state_dict().items()}
    deep.update({k.replace("blocks.2.", "blocks.3."): v for k, v in src.state_dict().items() if "blocks.2." in k})
    torch.save(deep, tmp_path / "deep.pt")
    with pytest.raises(EncoderCheckpointError, match="depth: checkpoint has 4 blocks, tower has 2"):
        adapter.swap_encoder(str(tmp_path / "deep.pt"))
    reqs = family_requests(adapter, 2, BLIP_QUESTION)  # scoring after a swap is still exact
    for req, scores in zip(reqs, Engine(adapter, 2).score(reqs)):
        for s, r in zip(scores, plain_forward_scores(adapter, req)):
            assert abs(s.logprob - r) < 1e-4


def test_six_tasks_through_the_cli_in_both_modes(adapter, tmp_path):
    from tests.harness.tasks.fixtures import build_all_fixtures

    build_all_fixtures(tmp_path / "data")
    samples = six_tasks_through_the_cli(adapter, tmp_path / "data", tmp_path, "vizwiz,hm")
    assert any(s["prompt"].startswith("Question: ") for s in samples)


def test_flan_t5_releases_are_refused_by_name():
    from transformers import (
        Blip2Config,
        Blip2ForConditionalGeneration,
        Blip2QFormerConfig,
        Blip2VisionConfig,
        T5Config,
    )

    from harness.adapters.blip2 import Blip2Adapter
    from tests.harness.adapters.tiny_blip import QFORMER, VISION

    t5 = T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    model = Blip2ForConditionalGeneration(
        Blip2Config(
            vision_config=Blip2VisionConfig(**VISION),
            qformer_config=Blip2QFormerConfig(**QFORMER),
            text_config=t5,
            num_query_tokens=2,
        )
    )
    with pytest.raises(ValueError, match="language model is t5, an encoder-decoder"):
        Blip2Adapter(model, processor=None)

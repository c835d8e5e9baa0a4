"""LLaVA-NeXT and LLaVA-OneVision (any-resolution tiling): the engine equals a plain forward per option."""

from __future__ import annotations

import pytest
import torch

from tests.harness.adapters.family_checks import (
    SIZES,
    assert_batched_generation_equals_one_at_a_time,
    assert_engine_equals_plain,
    family_requests,
    six_tasks_through_the_cli,
    sized_image,
)
from tests.harness.adapters.tiny_families import build_tiny_llava_next, build_tiny_onevision


@pytest.fixture(scope="module", params=["llava_onevision", "llava_next"])
def adapter(request, tmp_path_factory):
    if request.param == "llava_onevision":
        from harness.adapters.llava_onevision import LlavaOnevisionAdapter as cls

        path = build_tiny_onevision(tmp_path_factory.mktemp("ov"))
    else:
        from harness.adapters.llava_next import LlavaNextAdapter as cls

        path = build_tiny_llava_next(tmp_path_factory.mktemp("next"))
    return cls.load(str(path), device="cpu")


def test_ids_match_the_processor_for_every_image_size(adapter):
    text = adapter.format_prompt("What color is the shape?")
    counts = set()
    for i in range(len(SIZES)):
        im = sized_image(i)
        ref = adapter.processor(text=text, images=im, return_tensors="pt").input_ids[0].tolist()
        assert adapter.encode(text, im) == ref
        counts.add(ref.count(adapter.image_token_id))
    assert len(counts) >= 3  # the count really depends on the size
    with pytest.raises(ValueError, match="depends on the image size"):
        adapter.encode(text)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_engine_equals_plain_forward(adapter, batch_size):
    assert_engine_equals_plain(adapter, family_requests(adapter, 8), batch_size)


def test_plain_forward_reference_is_the_processor_forward(adapter):
    """The reference path itself: ids and pixels straight from the processor give the same logits."""
    req = family_requests(adapter, 2)[1]
    inputs = adapter.processor(text=req.context, images=req.image, return_tensors="pt")
    with torch.no_grad():
        ref = torch.log_softmax(adapter.model(**inputs).logits[0].float(), -1)
    got = adapter.full_logprobs(req.image, adapter.encode(req.context, req.image))
    assert (got - ref).abs().max() < 1e-5


def test_batched_generation_equals_one_at_a_time(adapter):
    assert_batched_generation_equals_one_at_a_time(adapter)


def test_describe_says_any_res(adapter):
    adapter.encode(adapter.format_prompt("x"), sized_image(1))
    info = adapter.describe()
    assert info["vlm"] == adapter.family and info["image_tokens"].startswith("per image size")
    assert "40x90" in info["image_tokens_by_size"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from tests.harness.tasks.fixtures import build_all_fixtures

    root = tmp_path_factory.mktemp("data")
    build_all_fixtures(root)
    return root


def test_six_tasks_through_the_cli_in_both_modes(adapter, data_root, tmp_path):
    samples = six_tasks_through_the_cli(adapter, data_root, tmp_path, "vizwiz,vsr")
    assert any("respond with 'Unanswerable'" in s["prompt"] for s in samples)

"""Chameleon at its real geometry (`harness.toy.real_geometry_chameleon`: the published config shrunk, 512 px
crops, 1024 codes per image, vocab 65536): the published special-token layout on the stand-in vocabulary, prompt
ids equal to the transformers processor's for any input size, and engine scores equal to a plain forward."""

from __future__ import annotations

import pytest

from harness.adapters.chameleon import ChameleonAdapter
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.toy.published_chameleon import CHAMELEON
from harness.toy.real_geometry_chameleon import build_real_chameleon, image_code_name
from tests.conftest import random_image


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> ChameleonAdapter:
    path = build_real_chameleon(tmp_path_factory.mktemp("chameleon_real"))["model"]
    return ChameleonAdapter.load(str(path), device="cpu")


def test_stand_in_vocabulary_has_the_published_layout(real):
    tok, cfg = real.tokenizer, real.model.config
    for name, want in CHAMELEON["tokenizer"]["added"].items():
        assert tok.convert_tokens_to_ids(name) == want, name
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.sep_token_id) == (0, 1, 2, 8710)
    assert [image_code_name(c) for c in (0, 123, 8191)] == ["IMGIMGAZ", "IMGIMGBCDZ", "IMGIMGIBJBZ"]
    mapping = real.model.model.vocabulary_mapping  # transformers' own code -> BPE id map, read from the config
    assert all(mapping.bpe2img[4 + c] == c for c in (0, 123, 8191)) and len(mapping.image_tokens) == 8192
    assert (cfg.image_token_id, cfg.vq_config.num_embeddings, cfg.vq_config.resolution) == (8711, 8192, 512)
    assert CHAMELEON["config"]["vocab_size"] == 65536 and cfg.vocab_size == len(tok)  # the stand-in's own length


def test_prompt_ids_equal_the_processors_for_any_image_size(real):
    """Every input size is resized and cropped to 512 px: 1024 placeholders between the markers, BOS first, the
    chat-mode separator last, exactly the ids `ChameleonProcessor` writes."""
    question = "What is shown in this image?"
    prompt = real.format_prompt(question)
    assert prompt == "<image>What is shown in this image?<reserved08706>"
    for size in [(224, 224), (500, 375), (300, 420), (40, 90)]:
        image = random_image(1).resize(size)
        ours = real.encode(prompt, image)
        inputs = real.processor(text="<image>" + question, images=image, return_tensors="pt")
        assert ours == inputs.input_ids[0].tolist(), size
        assert tuple(inputs.pixel_values.shape) == (1, 3, 512, 512)
        assert ours[:2] == [0, 8197] and ours[2:1026] == [8711] * 1024 and ours[1026] == 8196 and ours[-1] == 8710
    example = CHAMELEON["example"]["prompt"]  # the converter's own prompt: the image between two sentences
    image = random_image(2).resize((640, 480))
    ours = real.encode(example + real.tokenizer.sep_token, image)
    assert ours == real.processor(text=example, images=image, return_tensors="pt").input_ids[0].tolist()
    start = ours.index(8197)
    assert start > 1 and ours[start + 1 : start + 1025] == [8711] * 1024 and ours[start + 1025] == 8196


def test_real_geometry_scores_equal_a_plain_forward(real):
    """Two images of different sizes in one batch, options of several token lengths: within 1e-4 (fp32)."""
    reqs = [
        Request(
            "a", random_image(2).resize((500, 375)), real.format_prompt("Which one?"), ("yes", "a red circle"), " "
        ),
        Request("b", random_image(3).resize((90, 40)), real.format_prompt("Zählen Sie:"), ("café",), " "),
    ]
    engine = Engine(real, batch_size=2)
    for req, scores in zip(reqs, engine.score(reqs)):
        assert [s.logprob for s in scores] == pytest.approx(plain_forward_scores(real, req), abs=1e-4), req.key
    assert engine.forwards <= 2

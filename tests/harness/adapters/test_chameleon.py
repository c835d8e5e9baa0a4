"""Chameleon on its published layout with a 64 px crop (16 codes per image; `test_chameleon_real` has the 512 px
one): engine scores equal to one plain forward per option at batch sizes 1 and 8 over images of several sizes,
batched generation, the training forward, and the VQ-VAE as a tower that refuses swaps and tuning."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from harness.adapters.chameleon import NO_TOWER, ChameleonAdapter, VQImageTokenizer
from harness.adapters.tokenizer_fit import TokenizerMismatch
from harness.errors import InvalidInput
from harness.eval.engine import Engine, plain_forward_scores
from harness.eval.tower import TowerSnapshot
from harness.toy.real_geometry_chameleon import build_real_chameleon
from harness.tune.vlm_model import VlmTower
from tests.conftest import random_image
from tests.harness.adapters.family_checks import (
    assert_batched_generation_equals_one_at_a_time,
    family_requests,
)

SMALL_CROP = 64  # 16 codes per image: the exactness tests' model (the real one's 1024 codes cost seconds per image)


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    return build_real_chameleon(tmp_path_factory.mktemp("chameleon_small"), crop=SMALL_CROP)["model"]


@pytest.fixture(scope="module")
def small(small_dir) -> ChameleonAdapter:
    return ChameleonAdapter.load(str(small_dir), device="cpu")


@pytest.fixture(scope="module")
def scored(small):
    """Eight items (five input sizes, options of several token lengths) and their plain-forward references."""
    reqs = family_requests(small, 8)
    return reqs, [plain_forward_scores(small, r) for r in reqs]


@pytest.mark.parametrize("batch_size", [1, 8])
def test_engine_scores_equal_a_plain_forward(small, scored, batch_size):
    """Every option within 1e-4 (fp32) of its own plain forward; one prefill and at most one extend per batch."""
    reqs, refs = scored
    engine = Engine(small, batch_size=batch_size)
    lengths = set()
    for req, scores, ref in zip(reqs, engine.score(reqs), refs):
        assert [s.logprob for s in scores] == pytest.approx(ref, abs=1e-4), req.key
        lengths |= {s.n_tokens for s in scores}
    assert len(lengths) >= 3
    assert engine.forwards <= 2 * -(-len(reqs) // batch_size)


def test_batched_generation_equals_one_at_a_time(small):
    assert_batched_generation_equals_one_at_a_time(small)


def test_train_logits_equal_the_plain_forward(small):
    """Right-padded rows of the training forward equal each row's own unpadded forward."""
    reqs = family_requests(small, 2)
    seqs = [small.encode(r.context + " yes", r.image) for r in reqs]
    seqs[1] = seqs[1] + small.encode(" no")[1:]  # rows of different lengths
    with torch.no_grad():
        logits = small.train_logits([r.image for r in reqs], seqs, [len(s) - 1 for s in seqs])
    for b, (r, s) in enumerate(zip(reqs, seqs)):
        ref = small.full_logprobs(r.image, s)
        assert torch.allclose(torch.log_softmax(logits[b, : len(s)].float(), -1), ref, atol=1e-4), b


def test_the_vq_tokenizer_is_an_immutable_tower(small, tmp_path):
    tower = small.vision_tower
    assert isinstance(tower, VQImageTokenizer) and tower.vqmodel is small.model.model.vqmodel
    pixels = small.pixel_values([random_image(4)])
    assert torch.equal(tower(pixels) + 4, small.model.model.get_image_tokens(pixels))  # codes 0..8191 at ids 4..
    snapshot = TowerSnapshot(tower)  # the multi-encoder loop's reset works on it
    before = {k: v.clone() for k, v in tower.state_dict().items()}
    with torch.no_grad():
        next(tower.parameters()).add_(1.0)
    snapshot.restore()
    assert all(torch.equal(before[k], v) for k, v in tower.state_dict().items())
    ckpt = tmp_path / "enc.safetensors"
    ckpt.write_bytes(b"x")
    with pytest.raises(InvalidInput, match="no continuous vision tower"):
        small.swap_encoder(str(ckpt))
    with pytest.raises(InvalidInput) as err:
        VlmTower.of(small)
    assert str(err.value) == NO_TOWER


def test_a_processor_writing_another_image_length_is_refused(small_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(small_dir, bad)
    config = json.loads((bad / "processor_config.json").read_text())
    config["image_seq_length"] = 1024
    (bad / "processor_config.json").write_text(json.dumps(config))
    with pytest.raises(TokenizerMismatch, match="writes 1024 image tokens per 64 px crop, but the VQ-VAE"):
        ChameleonAdapter.load(str(bad), device="cpu")

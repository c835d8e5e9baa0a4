"""The adapters call transformers through its current API: no deprecated argument or output field.

transformers >= 5.24 renamed `past_key_values` to `cache` (argument and output field); the old names still
work but warn (a FutureWarning for arguments, a `logger.warning_once` for the output field). Both are turned
into failures here, so a deprecated call anywhere on the scoring or generation path fails these tests.
"""

from __future__ import annotations

import logging

import pytest
import torch

from harness.eval.engine import Engine, Request, plain_forward_scores
from tests.conftest import random_image

STRICT = pytest.mark.filterwarnings("error::FutureWarning", "error::DeprecationWarning")


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def library_warnings(monkeypatch):
    """Every transformers log warning, `warning_once` included (its memo would hide repeats across tests)."""
    monkeypatch.setattr(logging.Logger, "warning_once", lambda self, *a, **k: self.warning(*a, **k), raising=False)
    rec = _Recorder()
    root = logging.getLogger("transformers")
    root.addHandler(rec)
    yield rec.messages
    root.removeHandler(rec)


def _deprecations(messages: list[str]) -> list[str]:
    return [m for m in messages if "deprecat" in m.lower()]


@pytest.fixture(scope="module")
def tiny_minigptv2(tmp_path_factory):
    from harness.adapters.minigptv2 import MiniGPTv2Adapter
    from harness.toy.tiny_minigptv2 import build_tiny_minigptv2

    files = build_tiny_minigptv2(tmp_path_factory.mktemp("mgv2_api"))
    return MiniGPTv2Adapter.load(
        str(files["model"]), str(files["minigptv2_ckpt"]), str(files["eva_ckpt"]), device="cpu"
    )


def _exercise(adapter) -> None:
    reqs = [
        Request(
            f"i{i}",
            random_image(i),
            adapter.format_prompt("What color is the shape?"),
            ("red", "dark green", "a blue triangle at the top"),
        )
        for i in range(3)
    ]
    for req, scores in zip(reqs, Engine(adapter, batch_size=2).score(reqs)):
        ref = plain_forward_scores(adapter, req)
        assert max(abs(s.logprob - r) for s, r in zip(scores, ref)) < 1e-4
    texts = adapter.generate([r.image for r in reqs], [adapter.encode(r.context) for r in reqs], 4)
    assert len(texts) == 3


@STRICT
def test_llava_scoring_and_generation_use_no_deprecated_api(tiny_llava, library_warnings):
    _exercise(tiny_llava)
    assert not _deprecations(library_warnings), library_warnings


@STRICT
def test_minigptv2_scoring_and_generation_use_no_deprecated_api(tiny_minigptv2, library_warnings):
    _exercise(tiny_minigptv2)
    assert not _deprecations(library_warnings), library_warnings


@STRICT
def test_the_checks_catch_the_old_names(tiny_llava, library_warnings):
    """The guard can fail: the old argument raises under the filter, the old output field is logged."""
    x = torch.tensor([tiny_llava.encode("USER: hi")])
    with pytest.raises(FutureWarning, match="past_key_values"), torch.no_grad():
        tiny_llava.model(input_ids=x, past_key_values=None)
    with torch.no_grad():
        out = tiny_llava.model(input_ids=x, use_cache=True)
    assert out.past_key_values is out.cache
    assert _deprecations(library_warnings)

"""Tiny CLIPs of both families, a tiny SigLIP and the one-thread rule (see tests/harness/clip/fixtures.py); tiny
models of every VLM family (tests/harness/tune/vlm_fixtures.py)."""

from tests.harness.clip.fixtures import clip_specs, one_thread, shapes, siglip_spec  # noqa: F401
from tests.harness.tune.vlm_fixtures import tiny_vlm  # noqa: F401

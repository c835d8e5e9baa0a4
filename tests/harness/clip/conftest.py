"""Tiny CLIPs of both families, a tiny SigLIP and the one-thread rule (see tests/harness/clip/fixtures.py)."""

from tests.harness.clip.fixtures import clip_specs, one_thread, shapes, siglip_spec  # noqa: F401

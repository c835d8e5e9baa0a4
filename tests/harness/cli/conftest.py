"""Tiny CLIPs of both families and the one-thread rule (see tests/harness/clip/fixtures.py)."""

from tests.harness.clip.fixtures import clip_specs, one_thread, shapes  # noqa: F401

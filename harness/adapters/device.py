"""The `--device` forms the harness accepts, checked without torch so that a typo fails before any import."""

from __future__ import annotations

import re

from harness.errors import InvalidInput

DEVICE_FORMS = "auto, cpu, cuda, cuda:N (N the visible GPU's index) or mps"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_device(device: object, option: str = "--device") -> str:
    """`device` when it is one of the accepted forms; else an error naming the option and the forms."""
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise InvalidInput(f"{option} {device!r}: expected {DEVICE_FORMS}")
    return device

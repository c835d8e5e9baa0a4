"""The refusal every non-CLIP tower shares: a checkpoint of another family (or of the right family with other
names) is refused before anything is loaded, naming the detected format and the first offending keys."""

from __future__ import annotations

from collections.abc import Collection

from harness.errors import InvalidInput

SHOW = 5


def check_tower_keys(keys: Collection[str], tower_keys: Collection[str], family: str, title: str) -> None:
    """Raise InvalidInput unless `keys` are exactly `tower_keys` (after the caller dropped its known-unused ones)."""
    from harness.adapters.checkpoints.registry import detect_format

    keys, tower_keys = set(keys), set(tower_keys)
    extra, missing = sorted(keys - tower_keys)[:SHOW], sorted(tower_keys - keys)[:SHOW]
    fmt = detect_format(keys)
    if fmt is not None and fmt.family != family:
        raise InvalidInput(
            f"this is {fmt.family_title} checkpoint (format {fmt.name}), not {title}; nothing was loaded. "
            f"First offending keys: {extra or '-'}; first missing tower keys: {missing or '-'}"
        )
    if extra or missing:
        raise InvalidInput(
            f"the checkpoint does not fit {title}; nothing was loaded. "
            f"Keys the tower lacks: {extra or '-'}; tower keys the checkpoint lacks: {missing or '-'}"
        )

"""The refusal every tower that loads a whole state dict shares: a checkpoint of another family (or of the right
family with other names) is refused before anything is loaded, naming the detected format and the first
offending keys. The tower's own family is what the format registry detects on its own state-dict names (a CoCa
tower's names detect as `open_clip_coca`, an open_clip CLIP ViT's as `lorsu`), so any tower can call it."""

from __future__ import annotations

from collections.abc import Collection

from harness.errors import InvalidInput

SHOW = 5


def tower_family(tower_keys: Collection[str]) -> str | None:
    """The checkpoint family the format registry reads off a tower's own state-dict names (None: no format)."""
    from harness.adapters.checkpoints.registry import detect_format

    fmt = detect_format(set(tower_keys))
    return fmt.family if fmt is not None else None


def check_tower_keys(keys: Collection[str], tower_keys: Collection[str], title: str, family: str | None = None) -> None:
    """Raise InvalidInput unless `keys` are exactly `tower_keys` (after the caller dropped its known-unused ones).

    `family`: the tower's checkpoint family; by default the one its own names detect as."""
    from harness.adapters.checkpoints.registry import detect_format

    keys, tower_keys = set(keys), set(tower_keys)
    family = family or tower_family(tower_keys)
    extra, missing = sorted(keys - tower_keys)[:SHOW], sorted(tower_keys - keys)[:SHOW]
    fmt = detect_format(keys)
    if fmt is not None and family is not None and fmt.family != family:
        raise InvalidInput(
            f"this is {fmt.family_title} checkpoint (format {fmt.name}), not {title}; nothing was loaded. "
            f"First offending keys: {extra or '-'}; first missing tower keys: {missing or '-'}"
        )
    if extra or missing:
        raise InvalidInput(
            f"the checkpoint does not fit {title}; nothing was loaded. "
            f"Keys the tower lacks: {extra or '-'}; tower keys the checkpoint lacks: {missing or '-'}"
        )

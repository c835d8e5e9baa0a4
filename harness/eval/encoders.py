"""Several encoders for one `harness eval`: `--encoder` values (files, globs, `zero-shot`) → one run config
per encoder, each exactly the config of the standalone run for that encoder. Torch-free."""

from __future__ import annotations

import glob
from dataclasses import replace
from pathlib import Path

from harness.errors import InputNotFound, InvalidInput
from harness.eval.config import EvalConfig
from harness.eval.encoder_meta import export_label

ZERO_SHOT = "zero-shot"


def expand_encoders(values: list[str], option: str = "--encoder") -> list[tuple[str, str | None]]:
    """(label, path or None for the original tower) per encoder; a glob gives one per file (sorted), the
    label is the file's stem (`<method>-session-<s>` for `harness tune` exports). Two encoders with one label
    are an error (their runs would collide)."""
    out: list[tuple[str, str | None]] = []
    for v in values:
        if v == ZERO_SHOT:
            out.append((ZERO_SHOT, None))
        elif glob.has_magic(v):
            matches = sorted(glob.glob(v))
            if not matches:
                raise InputNotFound(f"{option} {v}: the pattern matches no file")
            out += [(export_label(m), m) for m in matches]
        else:
            out.append((export_label(v), v))
    check_unique([label for label, _ in out], [str(p or ZERO_SHOT) for _, p in out], option)
    return out


def check_unique(labels: list[str], sources: list[str], what: str) -> None:
    seen: dict[str, str] = {}
    for label, src in zip(labels, sources):
        if label in seen:
            raise InvalidInput(
                f"{what}: {seen[label]} and {src} both get the label {label!r}; their runs would collide "
                f"(rename one file, or give labels)"
            )
        seen[label] = src


def encoder_configs(cfg: EvalConfig, encoders: list[tuple[str, str | None]]) -> list[EvalConfig]:
    """One config per encoder. One encoder: `--out` is its run directory, as always. Several: `--out` is a
    parent and each run goes to `OUT/<label>` (without `--out`, where a standalone run would go)."""
    if len(encoders) == 1:
        return [replace(cfg, encoder=encoders[0][1])]
    if cfg.label:
        raise InvalidInput(f"--label {cfg.label!r} names one run; with several --encoder each run is named by its file")
    return [replace(cfg, encoder=path, out=str(Path(cfg.out) / label) if cfg.out else None) for label, path in encoders]

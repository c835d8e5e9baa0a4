"""The format registry: checkpoint layouts we recognise, and the towers we can load them into.

A `CheckpointFormat` recognises one on-disk naming scheme and converts it, with one pure
`state_dict -> state_dict` function, into the names of its *family's* tower (`family`). A
`TowerKind` describes one target tower (its family, geometry checks, block grouping). A swap is
allowed only when the detected format's family equals the tower's family.

To add a tower (e.g. the EVA ViT of MiniGPT-v2), register a `TowerKind` with `family="eva_vit"`
and register conversions with `register_format(..., before="eva_clip")` so they are tried before
the built-in EVA detector, which only recognises EVA checkpoints (its `convert` is None).
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import torch

StateDict = Mapping[str, torch.Tensor]


def _never(_key: str) -> bool:
    return False


@dataclass(frozen=True)
class CheckpointFormat:
    """One checkpoint layout.

    detect(keys, torchscript): whether a checkpoint with these keys is in this layout.
    unused(key): keys (file names) known to be irrelevant to the tower (text tower, projection...);
        they are dropped before conversion and counted in the report as ignored.
    convert(state_dict): pure renaming into tower names; keys it does not recognise come back
        unchanged, so validation reports them under their own name. None: recognised, not loadable.
    """

    name: str
    description: str
    family: str
    family_title: str
    detect: Callable[[Collection[str], bool], bool]
    convert: Callable[[StateDict], dict[str, torch.Tensor]] | None
    unused: Callable[[str], bool] = _never


@dataclass(frozen=True)
class TowerKind:
    """A target tower: names come from its `state_dict()`.

    matches(tower_state): whether a tower state dict is this kind.
    structure_problems(ckpt, tower, interpolate_pos): human sentences for depth/width/patch/grid
        mismatches (empty when the structure fits).
    align_positions(ckpt, tower): ckpt with its position embedding resized to the tower's grid,
        plus a description of what was done (None when nothing was needed).
    block_of(name): the block a tensor belongs to, for the per-block change summary.
    droppable(name): converted tensors that may be ignored when the tower lacks them.
    prepare(ckpt, tower): adjustments every checkpoint of the family needs before validation (e.g.
        dropping the block a VLM does not read), with notes for the report.
    kept(name): tower tensors that encoder checkpoints do not carry (e.g. MiniGPT-v2's ln_vision);
        they stay as they are without `allow_partial`.
    """

    family: str
    title: str
    used_by: str
    matches: Callable[[StateDict], bool]
    structure_problems: Callable[[StateDict, StateDict, bool], list[str]]
    align_positions: Callable[[dict[str, torch.Tensor], StateDict],
                              tuple[dict[str, torch.Tensor], str | None]]
    block_of: Callable[[str], str]
    droppable: Callable[[str], bool] = _never
    prepare: Callable[[dict[str, torch.Tensor], StateDict],
                      tuple[dict[str, torch.Tensor], list[str]]] | None = None
    kept: Callable[[str], bool] = _never


_FORMATS: list[CheckpointFormat] = []
_TOWERS: list[TowerKind] = []
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    # Imported here: the format modules import this module for the dataclasses.
    from . import clip_tower, eva, eva_tower, hf_clip, lorsu, openai_clip, openclip

    # Detection order matters: EVA first (its keys never overlap CLIP's), OpenAI before open_clip
    # (same names, told apart by TorchScript / OpenAI metadata), LoRSU (unprefixed) before HF.
    _FORMATS[:0] = [eva.FORMAT, openai_clip.FORMAT, openclip.FORMAT, lorsu.FORMAT, hf_clip.FORMAT]
    _TOWERS[:0] = [clip_tower.CLIP_VIT, eva_tower.EVA_VIT]


def register_format(fmt: CheckpointFormat, *, before: str | None = None) -> None:
    """Add a format; with `before`, it is tried ahead of the named format during detection."""
    _load_builtins()
    if any(f.name == fmt.name for f in _FORMATS):
        raise ValueError(f"checkpoint format {fmt.name!r} is already registered")
    names = [f.name for f in _FORMATS]
    _FORMATS.insert(names.index(before) if before in names else len(_FORMATS), fmt)


def register_tower_kind(kind: TowerKind) -> None:
    _load_builtins()
    _TOWERS.append(kind)


def formats() -> list[CheckpointFormat]:
    """Registered formats in detection order."""
    _load_builtins()
    return list(_FORMATS)


def tower_kinds() -> list[TowerKind]:
    _load_builtins()
    return list(_TOWERS)


def detect_format(keys: Collection[str], torchscript: bool = False) -> CheckpointFormat | None:
    """The first registered format that recognises these keys, or None."""
    keys = set(keys)
    return next((f for f in formats() if f.detect(keys, torchscript)), None)


def tower_kind_for(tower_state: StateDict) -> TowerKind | None:
    return next((k for k in tower_kinds() if k.matches(tower_state)), None)

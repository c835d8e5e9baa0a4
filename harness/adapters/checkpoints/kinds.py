"""The two types the format registry holds: a checkpoint layout and a target tower.

A `CheckpointFormat` recognises one on-disk naming scheme and converts it, with one pure
`state_dict -> state_dict` function, into the names of its *family's* tower (`family`). A
`TowerKind` describes one target tower (its family, geometry checks, block grouping).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

StateDict = Mapping[str, "torch.Tensor"]  # a string: the format registry and its detection are torch-free


def never(_key: str) -> bool:
    return False


@dataclass(frozen=True)
class CheckpointFormat:
    """One checkpoint layout.

    detect(keys, torchscript): whether a checkpoint with these keys is in this layout.
    unused(key): keys (file names) known to be irrelevant to the tower (text tower, projection...);
        they are dropped before conversion and counted in the report as ignored.
    notes: sentences every swap report of this format carries (e.g. a known difference by design).
    convert(state_dict): pure renaming into tower names; keys it does not recognise come back
        unchanged, so validation reports them under their own name. None: recognised, not loadable.
    """

    name: str
    description: str
    family: str
    family_title: str
    detect: Callable[[Collection[str], bool], bool]
    convert: Callable[[StateDict], dict[str, torch.Tensor]] | None
    unused: Callable[[str], bool] = never
    notes: tuple[str, ...] = ()


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
    align_positions: Callable[[dict[str, torch.Tensor], StateDict], tuple[dict[str, torch.Tensor], str | None]]
    block_of: Callable[[str], str]
    droppable: Callable[[str], bool] = never
    prepare: Callable[[dict[str, torch.Tensor], StateDict], tuple[dict[str, torch.Tensor], list[str]]] | None = None
    kept: Callable[[str], bool] = never

"""M-RoPE positions (Qwen2.5-VL, Qwen3-VL): three position ids per token (temporal, height, width).

Text tokens take the same id on all three axes; the image's merged patches take (t, row, column) from where the
image starts; text after the image continues from the largest id the image used, plus one. So a prompt's ids
run behind (or ahead of) its sequence index by a per-row `rope_delta` = max id + 1 - real length, and every token
after the prompt sits at sequence position + rope_delta on all three axes. The engine's `extend` gives packed
continuation tokens their sequence positions (`lengths[row] + positions`); `extend_positions` maps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from harness.adapters.base import Prefix


@dataclass
class MRopePrefix(Prefix):
    """A prefix whose rows carry their M-RoPE offset (`rope_deltas` [B, 1])."""

    rope_deltas: torch.Tensor | None = None


def token_types(ids: torch.Tensor, image_token_id: int) -> torch.Tensor:
    """transformers' `mm_token_type_ids`: 1 at image placeholders, 0 at text (no video here)."""
    return (ids == image_token_id).int()


def prompt_positions(
    model: Any, ids: torch.Tensor, mask: torch.Tensor, grid_thw: torch.Tensor, image_token_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Position ids [3, B, L] of (left- or right-) padded prompts and their rope deltas [B, 1], from the model's
    own `get_rope_index` (padding positions are 0 and masked out)."""
    return model.model.get_rope_index(
        ids, mm_token_type_ids=token_types(ids, image_token_id), image_grid_thw=grid_thw, attention_mask=mask
    )


def extend_positions(prefix: MRopePrefix, rows: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """M-RoPE ids [3, R, T] of packed continuation tokens: sequence position (`lengths[row] + positions`) plus the
    row's rope delta, the same on all three axes."""
    device = positions.device
    seq = prefix.lengths.to(device).index_select(0, rows)[:, None] + positions
    delta = prefix.rope_deltas.to(device).index_select(0, rows).reshape(-1, 1)
    return (seq + delta)[None].expand(3, -1, -1)

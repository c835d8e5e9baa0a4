"""KV-cache helpers shared by adapters built on transformers decoders (LLaVA, MiniGPTv2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from transformers import GenerationConfig
from transformers.cache_utils import DynamicCache

from harness.adapters.attention import check_attn_implementation, model_attn_implementation


def select_cache_rows(cache: DynamicCache, rows: torch.Tensor) -> DynamicCache:
    """A new cache whose batch row i is `cache` row `rows[i]` (rows may repeat); `cache` is untouched."""
    data = []
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", True) or layer.keys is None:
            raise ValueError("cannot select rows of a cache with uninitialised layers")
        data.append((layer.keys.index_select(0, rows), layer.values.index_select(0, rows)))
    return DynamicCache(ddp_cache_data=data)


def additive_mask(prefix_mask: torch.Tensor, attend: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A 4D additive mask [R, 1, T, P+T]: every query sees the real prefix tokens (`prefix_mask` [R, P])
    and the packed tokens `attend` [R, T, T] allows. Additive floats work for SDPA and eager attention."""
    r, t = attend.shape[:2]
    seen = torch.cat([prefix_mask.bool()[:, None, :].expand(r, t, -1), attend], dim=-1)
    mask = torch.zeros(seen.shape, dtype=dtype, device=attend.device)
    mask.masked_fill_(~seen, torch.finfo(dtype).min)
    return mask[:, None]


def extend_from_prefix(
    forward: Callable[..., Any],
    prefix: Any,
    rows: torch.Tensor,
    input_ids: torch.Tensor,
    positions: torch.Tensor,
    attend: torch.Tensor,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """The adapter `extend` contract for a decoder called as `forward(input_ids=, attention_mask=,
    position_ids=, cache=, use_cache=)` (transformers >= 5.24 names the KV cache `cache`); returns fp32
    log-probs [R, T, V]."""
    check_attn_implementation(model_attn_implementation(forward), where="the model's attn_implementation")
    rows = rows.to(device)
    n = prefix.attention_mask.shape[0]
    everyone = rows.numel() == n and bool((rows == torch.arange(n, device=device)).all())
    # all rows in order: continue the prefix cache itself (no copy); else gather the rows needed
    cache = prefix.cache if everyone else select_cache_rows(prefix.cache, rows)
    pos = prefix.lengths.to(device).index_select(0, rows)[:, None] + positions.to(device)
    mask = additive_mask(prefix.attention_mask.index_select(0, rows), attend.to(device), dtype)
    out = forward(input_ids=input_ids.to(device), attention_mask=mask, position_ids=pos, cache=cache, use_cache=True)
    return torch.log_softmax(out.logits.float(), dim=-1)


def left_pad(contexts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and the attention mask: every row's last token sits at the end."""
    width = max(len(c) for c in contexts)
    ids = torch.full((len(contexts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(contexts), width), dtype=torch.long)
    for b, c in enumerate(contexts):
        ids[b, width - len(c) :] = torch.tensor(c, dtype=torch.long)
        mask[b, width - len(c) :] = 1
    return ids, mask


def right_pad(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the attention mask: every row starts at position 0 (training forwards)."""
    width = max(len(c) for c in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for b, c in enumerate(sequences):
        ids[b, : len(c)] = torch.tensor(c, dtype=torch.long)
        mask[b, : len(c)] = 1
    return ids, mask


def positions_from_mask(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


def greedy_config(max_new_tokens: int, pad_id: int, eos_id: int | None) -> GenerationConfig:
    """Greedy, single-beam decoding, explicit so a model's own sampling defaults never leak in."""
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        min_length=1,
        repetition_penalty=1.0,
        length_penalty=1.0,
        pad_token_id=pad_id,
        eos_token_id=eos_id,
    )

"""Row selection on transformers KV caches, shared by adapters built on HF decoders."""
from __future__ import annotations

import torch
from transformers.cache_utils import DynamicCache


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

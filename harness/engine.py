"""The likelihood engine: scores every option of a batch of items from one shared image+prompt prefix.

Per batch of items the adapter runs the vision tower and the prompts once (`prefill`); each option's
first token is read from the prefix's last log-probs, and all options with more tokens are scored in
one batched forward from the prefix's KV cache (`extend`). Options of one token need no forward at all.
The engine knows no model by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import torch
from PIL import Image

from adapters.base import VLMAdapter

AUTO_MAX_BATCH = 64
CPU_AUTO_BATCH = 8


@dataclass(frozen=True)
class Request:
    """One item to score: an image, the chat-formatted context and the option strings.

    Each option is scored as `delimiter + option` after the context (lm-eval's target delimiter);
    its character count for acc_norm is `len(option)`, delimiter excluded, as lm-eval counts it.
    """

    key: str
    image: Image.Image
    context: str
    continuations: tuple[str, ...]
    delimiter: str = " "


@dataclass(frozen=True)
class OptionScore:
    logprob: float
    n_tokens: int
    n_chars: int
    is_greedy: bool


class NonFiniteScores(RuntimeError):
    """NaN or inf appeared in the logits of an item."""


def split_continuation(encode: Callable[[str], list[int]], context: str,
                       continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's boundary rule: trailing context whitespace moves into the continuation, then the
    continuation tokens are those of encode(context + continuation) after len(encode(context))."""
    n_space = len(context) - len(context.rstrip())
    if n_space:
        continuation = context[-n_space:] + continuation
        context = context[:-n_space]
    whole = encode(context + continuation)
    ctx = encode(context)
    return ctx, whole[len(ctx):]


class Engine:
    """Scores requests through an adapter; `batch_size` is an int or "auto"."""

    def __init__(self, adapter: VLMAdapter, batch_size: int | str = 8):
        self.adapter = adapter
        self.batch_size = _initial_batch_size(adapter, batch_size)
        self.auto = batch_size == "auto"
        self.forwards = 0  # model calls, for tests and benchmarks

    def tokenize(self, req: Request) -> tuple[list[int], list[list[int]]]:
        """Shared context ids and per-option continuation ids for one request."""
        ctx_ids: list[int] | None = None
        conts = []
        for k, cont in enumerate(req.continuations):
            ctx, ids = split_continuation(self.adapter.encode, req.context, req.delimiter + cont)
            if not ids:
                raise ValueError(f"item {req.key}: option {k} ({cont!r}) encodes to no tokens")
            ctx_ids = ctx if ctx_ids is None else ctx_ids
            conts.append(ids)
        if ctx_ids is None:
            raise ValueError(f"item {req.key}: no options to score")
        return ctx_ids, conts

    def score_stream(self, requests: Iterable[Request]) -> Iterator[tuple[Request, list[OptionScore]]]:
        """Yield (request, option scores) batch by batch, in input order."""
        pending: list[Request] = []
        for req in requests:
            pending.append(req)
            if len(pending) >= self.batch_size:
                yield from self._score_with_backoff(pending)
                pending = []
        if pending:
            yield from self._score_with_backoff(pending)

    def score(self, requests: Sequence[Request]) -> list[list[OptionScore]]:
        return [scores for _, scores in self.score_stream(requests)]

    def _score_with_backoff(self, batch: list[Request]) -> Iterator[tuple[Request, list[OptionScore]]]:
        start = 0
        while start < len(batch):
            chunk = batch[start:start + self.batch_size]
            try:
                scores = self.score_batch(chunk)
            except torch.OutOfMemoryError:
                if not self.auto or self.batch_size == 1:
                    raise
                self.batch_size = max(1, self.batch_size // 2)
                torch.cuda.empty_cache()
                continue
            yield from zip(chunk, scores)
            start += len(chunk)

    def score_batch(self, batch: Sequence[Request]) -> list[list[OptionScore]]:
        """Score one batch: one prefill for all items, one extend for all multi-token options."""
        tokenized = [self.tokenize(r) for r in batch]
        prefix = self.adapter.prefill([r.image for r in batch], [ctx for ctx, _ in tokenized])
        self.forwards += 1
        _check_finite(prefix.last_logprobs, [r.key for r in batch])
        first = prefix.last_logprobs
        rows, tails = [], []
        for b, (_, conts) in enumerate(tokenized):
            for ids in conts:
                if len(ids) > 1:
                    rows.append(b)
                    tails.append(ids)
        tail_lp = self._extend(prefix, rows, tails, batch) if tails else None
        out: list[list[OptionScore]] = []
        t = 0
        for b, (req, (_, conts)) in enumerate(zip(batch, tokenized)):
            item_scores = []
            for cont_str, ids in zip(req.continuations, conts):
                lp = float(first[b, ids[0]])
                greedy = bool(first[b].argmax() == ids[0])
                if len(ids) > 1:
                    steps = tail_lp[t, : len(ids) - 1]
                    target = torch.tensor(ids[1:], device=steps.device)
                    picked = steps.gather(-1, target[:, None])[:, 0]
                    lp += float(picked.double().sum())
                    greedy = greedy and bool((steps.argmax(-1) == target).all())
                    t += 1
                item_scores.append(OptionScore(lp, len(ids), len(cont_str), greedy))
            out.append(item_scores)
        return out

    def _extend(self, prefix, rows: list[int], tails: list[list[int]], batch: Sequence[Request]) -> torch.Tensor:
        width = max(len(ids) for ids in tails) - 1
        pad = 0
        inputs = torch.full((len(tails), width), pad, dtype=torch.long)
        mask = torch.zeros((len(tails), width), dtype=torch.long)
        for r, ids in enumerate(tails):  # inputs are the option's tokens but its last
            inputs[r, : len(ids) - 1] = torch.tensor(ids[:-1])
            mask[r, : len(ids) - 1] = 1
        lp = self.adapter.extend(prefix, torch.tensor(rows), inputs, mask)
        self.forwards += 1
        for r, ids in enumerate(tails):
            if not torch.isfinite(lp[r, : len(ids) - 1]).all():
                raise NonFiniteScores(f"NaN/inf in logits for item {batch[rows[r]].key}")
        return lp


def _check_finite(logprobs: torch.Tensor, keys: list[str]) -> None:
    bad = ~torch.isfinite(logprobs).all(dim=-1)
    if bad.any():
        names = [keys[i] for i in bad.nonzero()[:, 0].tolist()]
        raise NonFiniteScores(f"NaN/inf in logits for item(s) {', '.join(names)}")


def _initial_batch_size(adapter: VLMAdapter, batch_size: int | str) -> int:
    if batch_size == "auto":
        device = getattr(adapter, "device", torch.device("cpu"))
        return AUTO_MAX_BATCH if torch.device(device).type == "cuda" else CPU_AUTO_BATCH
    size = int(batch_size)
    if size < 1:
        raise ValueError(f"--batch-size must be >= 1 or 'auto', got {batch_size}")
    return size

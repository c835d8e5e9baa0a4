"""The likelihood engine: scores every option of a batch of items from one shared image+prompt prefix.

Per batch of items the adapter runs the vision tower and the prompts once (`prefill`); each option's
first token is read from the prefix's last log-probs, and all options with more tokens are scored in
one batched forward from the prefix's KV cache (`extend`). Options of one token need no forward at all.
The engine knows no model by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from harness.adapters.base import VLMAdapter
from harness.errors import InvalidInput, UserError
from harness.eval.config import parse_batch_size

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


class NonFiniteScores(UserError, RuntimeError):
    """NaN or inf appeared in the logits of an item: the network overflowed in its dtype (fp16 most often)
    or its weights hold such values. A user error (exit 2) with advice; the batches scored before are kept."""

    @classmethod
    def for_items(cls, adapter: VLMAdapter, keys: Sequence[str]) -> NonFiniteScores:
        dtype = str(adapter.describe().get("dtype", "?")).removeprefix("torch.")
        return cls(
            f"NaN/inf in the logits for item(s) {', '.join(keys)} (model dtype {dtype}):"
            " the network overflows in this precision or its weights hold NaN/inf; try --dtype bfloat16 or float32"
            " (with a new --out: a run directory keeps one dtype). The items scored before it are saved"
        )


def move_trailing_space(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's first step: trailing context whitespace moves into the continuation."""
    n_space = len(context) - len(context.rstrip())
    return (context[:-n_space], context[-n_space:] + continuation) if n_space else (context, continuation)


def split_continuation(
    encode: Callable[[str], list[int]], context: str, continuation: str
) -> tuple[list[int], list[int]]:
    """lm-eval's boundary rule: trailing context whitespace moves into the continuation, then the
    continuation tokens are those of encode(context + continuation) after len(encode(context))."""
    context, continuation = move_trailing_space(context, continuation)
    ctx = encode(context)
    return ctx, encode(context + continuation)[len(ctx) :]


def plain_forward_scores(adapter: VLMAdapter, req: Request) -> list[float]:
    """The reference the engine must equal: one plain forward (image included, no cache, no padding,
    no batching) of context + option per option, summing the option tokens' log-probs."""
    out = []
    for opt in req.continuations:
        ctx, cont = split_continuation(lambda text: adapter.encode(text, req.image), req.context, req.delimiter + opt)
        lp = adapter.full_logprobs(req.image, ctx + cont, n_context=len(ctx))
        out.append(sum(float(lp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont)))
    return out


class Engine:
    """Scores requests through an adapter; `batch_size` is an int or "auto"."""

    def __init__(self, adapter: VLMAdapter, batch_size: int | str = 8):
        self.adapter = adapter
        self.batch_size = _initial_batch_size(adapter, batch_size)
        self.auto = batch_size == "auto"
        self.forwards = 0  # model calls, for tests and benchmarks

    def tokenize(self, req: Request) -> tuple[list[int], list[list[int]]]:
        """Shared context ids and per-option continuation ids (`split_continuation`, with the context
        encoded once per item rather than once per option)."""
        if not req.continuations:
            raise InvalidInput(f"item {req.key}: no options to score")
        context, _ = move_trailing_space(req.context, "")
        ctx_ids = self.adapter.encode(context, req.image)
        conts = []
        for k, cont in enumerate(req.continuations):
            ctx, moved = move_trailing_space(req.context, req.delimiter + cont)
            ids = self.adapter.encode(ctx + moved, req.image)[len(ctx_ids) :]
            if not ids:
                raise InvalidInput(f"item {req.key}: option {k} ({cont!r}) encodes to no tokens")
            conts.append(ids)
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
            chunk = batch[start : start + self.batch_size]
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
        _check_finite(self.adapter, prefix.last_logprobs, [r.key for r in batch])
        first = prefix.last_logprobs
        packed = _pack_tails([conts for _, conts in tokenized])
        tail_lp = self._extend(prefix, packed, batch) if packed.rows else None
        out: list[list[OptionScore]] = []
        for b, (req, (_, conts)) in enumerate(zip(batch, tokenized)):
            item_scores = []
            for k, (cont_str, ids) in enumerate(zip(req.continuations, conts)):
                lp = float(first[b, ids[0]])
                greedy = bool(first[b].argmax() == ids[0])
                if len(ids) > 1:
                    r, off = packed.where[(b, k)]
                    steps = tail_lp[r, off : off + len(ids) - 1]
                    target = torch.tensor(ids[1:], device=steps.device)
                    picked = steps.gather(-1, target[:, None])[:, 0]
                    lp += float(picked.double().sum())
                    greedy = greedy and bool((steps.argmax(-1) == target).all())
                item_scores.append(OptionScore(lp, len(ids), len(cont_str), greedy))
            out.append(item_scores)
        return out

    def _extend(self, prefix, packed: _Packed, batch: Sequence[Request]) -> torch.Tensor:
        lp = self.adapter.extend(prefix, torch.tensor(packed.rows), packed.input_ids, packed.positions, packed.attend)
        self.forwards += 1
        for r, width in enumerate(packed.widths):
            if not torch.isfinite(lp[r, :width]).all():
                raise NonFiniteScores.for_items(self.adapter, [batch[packed.rows[r]].key])
        return lp


@dataclass
class _Packed:
    """All multi-token options of a batch, packed one row per item after the shared prefix.

    Row r holds, for each of its item's options, the option's tokens but its last, side by side.
    `positions` count steps within each option; `attend[r, i, j]` lets packed token i see packed token j
    only inside the same option and causally, so each option sees the prefix and its own earlier tokens,
    exactly as in a plain forward of prefix + option.
    """

    rows: list[int]
    input_ids: torch.Tensor
    positions: torch.Tensor
    attend: torch.Tensor
    widths: list[int]
    where: dict[tuple[int, int], tuple[int, int]]


def _pack_tails(conts_per_item: list[list[list[int]]]) -> _Packed:
    rows, segments, where = [], [], {}
    for b, conts in enumerate(conts_per_item):
        segs = [(k, ids[:-1]) for k, ids in enumerate(conts) if len(ids) > 1]
        if segs:
            rows.append(b)
            segments.append(segs)
    widths = [sum(len(t) for _, t in segs) for segs in segments]
    width = max(widths, default=0)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    attend = torch.eye(width, dtype=torch.bool).repeat(len(rows), 1, 1)  # padding sees itself only
    for r, segs in enumerate(segments):
        off = 0
        for k, toks in segs:
            n = len(toks)
            ids[r, off : off + n] = torch.tensor(toks)
            pos[r, off : off + n] = torch.arange(n)
            attend[r, off : off + n, off : off + n] = torch.ones(n, n, dtype=torch.bool).tril()
            where[(rows[r], k)] = (r, off)
            off += n
    return _Packed(rows, ids, pos, attend, widths, where)


def _check_finite(adapter: VLMAdapter, logprobs: torch.Tensor, keys: list[str]) -> None:
    bad = ~torch.isfinite(logprobs).all(dim=-1)
    if bad.any():
        raise NonFiniteScores.for_items(adapter, [keys[i] for i in bad.nonzero()[:, 0].tolist()])


def _initial_batch_size(adapter: VLMAdapter, batch_size: int | str) -> int:
    if batch_size == "auto":
        device = getattr(adapter, "device", torch.device("cpu"))
        return AUTO_MAX_BATCH if torch.device(device).type == "cuda" else CPU_AUTO_BATCH
    return int(parse_batch_size(batch_size))

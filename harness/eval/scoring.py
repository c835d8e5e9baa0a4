"""Turning a task's items into recorded samples, by option likelihood or by greedy generation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.adapters.base import VLMAdapter
from harness.eval.engine import Engine, OptionScore, Request
from harness.tasks.base import ImageError, Item, Task
from harness.tasks.metrics import argmax_first


def base_sample(key: str, it: Item, prompt: str, error: str | None = None) -> dict[str, Any]:
    return {
        "task": key,
        "id": it.id,
        "prompt": prompt,
        "choices": list(it.choices),
        "answer": it.answer,
        "meta": it.meta,
        "error": error,
    }


def likelihood_sample(
    key: str, it: Item, context: str, conts: tuple[str, ...], delim: str, scores: list[OptionScore]
) -> dict[str, Any]:
    s = base_sample(key, it, context)
    lps = [x.logprob for x in scores]
    s.update(
        continuations=[delim + c for c in conts],
        logprobs=lps,
        n_tokens=[x.n_tokens for x in scores],
        n_chars=[x.n_chars for x in scores],
        is_greedy=[x.is_greedy for x in scores],
        pred=argmax_first(lps),
        pred_norm=argmax_first([x.logprob / max(x.n_chars, 1) for x in scores]),
    )
    s["correct"] = s["pred"] == it.answer
    return s


def score_likelihood(
    engine: Engine, adapter: VLMAdapter, key: str, task: Task, items: list[Item], style: str
) -> Iterator[list[dict[str, Any]]]:
    """Yield recorded samples batch by batch; unreadable images become error samples."""
    prompts: dict[str, tuple[Item, str, tuple[str, ...]]] = {}
    errors: list[dict[str, Any]] = []

    def requests() -> Iterator[Request]:
        for it in items:
            prompt = task.prompt(it, adapter.family, style)
            context = adapter.format_prompt(prompt.instruction)
            prompts[it.id] = (it, context, prompt.continuations)
            try:
                image = task.load_image(it)
            except ImageError as e:
                errors.append(base_sample(key, it, context, str(e)))
                continue
            yield Request(it.id, image, context, prompt.continuations, adapter.target_delimiter)

    batch: list[dict[str, Any]] = []
    for req, scores in engine.score_stream(requests()):
        it, context, conts = prompts.pop(req.key)
        batch.append(likelihood_sample(key, it, context, conts, req.delimiter, scores))
        batch.extend(errors)
        errors.clear()
        if len(batch) >= engine.batch_size:
            yield batch
            batch = []
    batch.extend(errors)
    if batch:
        yield batch


def score_generate(
    adapter: VLMAdapter, key: str, task: Task, items: list[Item], max_new_tokens: int, batch_size: int = 8
) -> Iterator[list[dict[str, Any]]]:
    """Greedy generation with the task's published instruction (batched, left-padded), then the task's
    answer extraction."""
    for start in range(0, len(items), batch_size):
        batch, ready = [], []
        for it in items[start : start + batch_size]:
            context = adapter.format_prompt(task.generate_prompt(it, adapter.family))
            try:
                ready.append((it, context, task.load_image(it)))
            except ImageError as e:
                batch.append(base_sample(key, it, context, str(e)))
        if ready:
            texts = adapter.generate(
                [im for _, _, im in ready], [adapter.encode(c, im) for _, c, im in ready], max_new_tokens
            )
            for (it, context, _), text in zip(ready, texts):
                s = base_sample(key, it, context)
                s.update(generation=text, pred=task.extract_answer(it, text))
                s["correct"] = s["pred"] == it.answer
                batch.append(s)
        yield batch

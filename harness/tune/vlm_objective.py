"""The VLM objective: cross-entropy over the answer tokens of (image, prompt, answer) through the frozen LLM.

The prompt is rendered by the family's adapter exactly as `harness eval` renders it (`format_prompt`, `encode`
with the image, the task's target delimiter before the answer) and the answer ids follow lm-eval's boundary rule
(`split_continuation`), so the tokens trained on are the tokens the evaluation scores; the tokenizer's EOS ends
each answer, as LLaVA's instruction tuning does. The loss is the mean over every answer token of the batch (the
convention of transformers' `labels` loss), from logits of one plain right-padded forward (`train_logits`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from harness.errors import InvalidInput
from harness.eval.engine import split_continuation
from harness.tune.objective import Objective

PROBE = (8, 8)  # the answer's ids do not depend on how many positions the image takes


class AnswerObjective(Objective):
    name = "vlm_answer"

    def __init__(self, adapter: Any, eos: bool = True):
        self.adapter = adapter
        self.eos = eos
        self._ids: dict[tuple[str, str, tuple[int, int]], tuple[list[int], list[int]]] = {}

    def tokens(self, image: Image.Image, instruction: str, answer: str) -> tuple[list[int], list[int]]:
        """(context ids, answer ids) as the evaluation would see this prompt and option (cached per image size)."""
        key = (instruction, answer, image.size)
        if key not in self._ids:
            a = self.adapter
            ctx, ans = split_continuation(
                lambda text: a.encode(text, image), a.format_prompt(instruction), a.target_delimiter + answer
            )
            if not ans or not answer.strip():
                raise InvalidInput(
                    f"the answer {answer!r} (to {instruction[:60]!r}) is empty or tokenizes to nothing after the "
                    f"prompt: nothing to train on"
                )
            eos = a.tokenizer.eos_token_id
            self._ids[key] = (ctx, ans + ([eos] if self.eos and eos is not None else []))
        return self._ids[key]

    def check(self, prompts: list[tuple[str, str]]) -> None:
        """Every (instruction, answer) gives answer tokens; raises naming the first that does not."""
        probe = Image.new("RGB", PROBE)
        for instruction, answer in prompts:
            self.tokens(probe, instruction, answer)

    def loss(self, model: Any, batch: tuple) -> torch.Tensor:
        images, instructions, answers = batch
        pairs = [self.tokens(im, q, a) for im, q, a in zip(images, instructions, answers)]
        return answer_loss(self.adapter, list(images), pairs)


def answer_loss(adapter: Any, images: list[Image.Image], pairs: list[tuple[list[int], list[int]]]) -> torch.Tensor:
    """Mean cross-entropy of every answer token given its image, prompt and the answer tokens before it."""
    logits = adapter.train_logits(images, [c + a for c, a in pairs], [len(c) for c, _ in pairs])
    rows, cols, targets = [], [], []
    for b, (ctx, ans) in enumerate(pairs):
        rows += [b] * len(ans)
        cols += range(len(ctx) - 1, len(ctx) - 1 + len(ans))
        targets += ans
    picked = logits[torch.tensor(rows), torch.tensor(cols)].float()
    return F.cross_entropy(picked, torch.tensor(targets, device=picked.device))

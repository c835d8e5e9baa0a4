"""Training data for the VLM objective: a task's images with a (instruction, answer) pair each.

Two prompt formats (`--prompt-format`):
- `official`: the released LoRSU code's LLaVA fine-tuning prompt, "Based on the image, respond to this question
  with a short answer: {question}", answered with the class sentence (GTSRB: "This is a {class} traffic sign",
  `src/llava/datasets`) or, for other tasks, the correct option's text;
- `options`: the evaluation's own multiple-choice prompt for the family (the task's options listed as "A. …"),
  answered with the correct option's letter, exactly what `harness eval --prompt-style options` scores;
- `text`: the evaluation's `--prompt-style text` prompt, answered with the correct option's text.
Class indices (for continual sessions) come from `harness.clip.data.from_task`, so both objectives split a task
into the same sessions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from harness.clip.data import CaptionedImages, from_task
from harness.errors import InvalidInput

PROMPT_FORMATS = ("official", "options", "text")
OFFICIAL_INSTRUCTION = "Based on the image, respond to this question with a short answer: {question}"
# the released training answers per dataset (src/llava/datasets/vqa_datasets.py *VQAFT); others: the option's text
OFFICIAL_ANSWERS = {
    "gts": "This is a {} traffic sign",
    "gtsrb": "This is a {} traffic sign",
    "aircraft": "The type of this aircraft is {}.",
    "eurosat": "It shows a {}.",
    "counteranimal": "This is a {}.",
}


@dataclass
class QuestionAnswers(CaptionedImages):
    """Captioned images plus one (instruction, answer) per sample."""

    prompts: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def subset(self, indices: Sequence[int]) -> QuestionAnswers:
        base = super().subset(indices)
        return QuestionAnswers(**{**base.__dict__, "prompts": [self.prompts[i] for i in indices]})

    def fingerprint(self) -> str:
        h = hashlib.sha256(super().fingerprint().encode())
        for q, a in self.prompts:
            h.update(f"\x1e{q}\x1f{a}".encode())
        return h.hexdigest()


def question_answers(task: Any, family: str, fmt: str = "official", limit: int | None = None) -> QuestionAnswers:
    """The task's items as training pairs for `family` in prompt format `fmt`."""
    if fmt not in PROMPT_FORMATS:
        raise InvalidInput(f"--prompt-format {fmt!r}: expected one of {', '.join(PROMPT_FORMATS)}")
    items = list(task.items())[:limit]
    unlabelled = [it.id for it in items if not 0 <= it.answer < len(it.choices)]
    if unlabelled:
        raise InvalidInput(f"task {task.name!r}: item {unlabelled[0]!r} has no answer; train on a labelled split")
    base = from_task(task, limit=limit)
    name = getattr(task, "name", "")
    prompts = []
    for it in items:
        if fmt != "official":
            prompt = task.prompt(it, family, fmt)
            prompts.append((prompt.instruction, prompt.continuations[it.answer]))
        else:
            answer = OFFICIAL_ANSWERS.get(name, "{}").format(it.choices[it.answer])
            prompts.append((OFFICIAL_INSTRUCTION.format(question=it.question), answer))
    return QuestionAnswers(**base.__dict__, prompts=prompts)


class _PairSet(Dataset):
    def __init__(self, data: QuestionAnswers):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Any, str, str]:
        q, a = self.data.prompts[i]
        return self.data.image(i), q, a


def _collate(rows: list[tuple[Any, str, str]]) -> tuple[list, list[str], list[str]]:
    images, questions, answers = zip(*rows)
    return list(images), list(questions), list(answers)


def pair_loader(data: QuestionAnswers, batch_size: int, seed: int, workers: int = 0) -> DataLoader:
    """Shuffled (seeded) batches of (images, instructions, answers); the adapter's processor prepares the images,
    as at evaluation (no augmentation). The last partial batch is dropped when there is more than one batch."""
    return DataLoader(
        _PairSet(data),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
        drop_last=len(data) > batch_size,
        num_workers=workers,
        collate_fn=_collate,
    )

"""Versioned prompt templates: one `PromptSet` per task, rendered per VLM family and prompt style.

Templates are plain data so a snapshot test can catch any change; bump `version` whenever a rendered
prompt changes. `{question}` is the item's question (for VSR the caption, for HM the meme text) and
`{options}` the lettered choice lines.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Mapping

from tasks.base import Item, Prompt

# Families whose published evaluations prompt exactly as another family's, rendered through that family's
# templates and option words: LLaVA-NeXT (blog "LLaVA-NeXT: Improved reasoning, OCR, and world knowledge",
# 2024-01-30, evaluated with LLaVA-1.5's prompts) and LLaVA-OneVision (Li et al. 2024, arXiv:2408.03326,
# Appendix "evaluation": LLaVA-1.5's response-format prompts, "Answer with the option's letter from the given
# choices directly." / "Answer the question using a single word or phrase.", as lmms-eval runs both models).
SAME_PROMPTS_AS = {"llava_next": "llava", "llava_onevision": "llava"}
FAMILIES = ("llava", "minigptv2", *SAME_PROMPTS_AS)
STYLES = ("options", "text")
MODES = STYLES + ("generate",)
LETTERS = string.ascii_uppercase
# the LoRSU / LLaVA-1.5 multiple-choice instruction
MC_SUFFIX = "Answer with the option's letter from the given choices directly."
# MiniGPT-v2's task identifier for short-answer VQA (its published VizWiz/VSR prompts use it)
VQA_TAG = "[vqa] "


@dataclass(frozen=True)
class PromptSet:
    """`templates[family][mode]` with mode in options/text/generate; `words[family]` replaces the item's
    choice texts for that family (binary tasks score e.g. "Yes"/"No" for LLaVA, "yes"/"no" for MiniGPT-v2)."""

    version: str
    templates: Mapping[str, Mapping[str, str]]
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def families(self) -> list[str]:
        """Families with templates, directly or through `SAME_PROMPTS_AS`."""
        return sorted(set(self.templates) | {f for f, base in SAME_PROMPTS_AS.items() if base in self.templates})

    def _own(self, family: str) -> str:
        if family in self.templates:
            return family
        if SAME_PROMPTS_AS.get(family) in self.templates:
            return SAME_PROMPTS_AS[family]
        raise ValueError(f"unknown VLM family {family!r}; prompts exist for {self.families()}")

    def template(self, family: str, mode: str) -> str:
        family = self._own(family)
        if mode not in self.templates[family]:
            raise ValueError(f"unknown prompt style {mode!r}; expected one of {MODES}")
        return self.templates[family][mode]

    def choice_texts(self, item: Item, family: str) -> tuple[str, ...]:
        return tuple(self.words.get(self._own(family), item.choices))

    def render(self, item: Item, family: str, mode: str) -> str:
        choices = self.choice_texts(item, family)
        if len(choices) > len(LETTERS):
            raise ValueError(f"item {item.id}: {len(choices)} choices exceed the {len(LETTERS)} option letters")
        options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))
        return self.template(family, mode).format(question=item.question, options=options)

    def prompt(self, item: Item, family: str, style: str) -> Prompt:
        """`options`: the lettered list in the prompt, letters scored; `text`: each option text scored."""
        if style not in STYLES:
            raise ValueError(f"unknown prompt style {style!r}; expected one of {STYLES}")
        choices = self.choice_texts(item, family)
        conts = tuple(LETTERS[: len(choices)]) if style == "options" else choices
        return Prompt(self.render(item, family, style), conts)

    def snapshot(self, item: Item) -> dict[str, Any]:
        """Every family × mode rendered for one item: what the snapshot test stores."""
        out: dict[str, Any] = {"version": self.version}
        for family in self.families():
            for style in STYLES:
                p = self.prompt(item, family, style)
                out[f"{family}/{style}"] = {"instruction": p.instruction, "continuations": list(p.continuations)}
            out[f"{family}/generate"] = self.render(item, family, "generate")
        return out


def mc_templates(tag_minigpt: bool = True) -> dict[str, dict[str, str]]:
    """The LoRSU multiple-choice layout for both families: question, "A. …" lines, the letter instruction.

    Text style scores the option texts after the bare question. MiniGPT-v2 gets the `[vqa]` tag unless
    `tag_minigpt` is False (its Hateful Memes prompt has none).
    """
    options = "{question}\n{options}\n" + MC_SUFFIX
    tag = VQA_TAG if tag_minigpt else ""
    return {
        "llava": {"options": options, "text": "{question}", "generate": options},
        "minigptv2": {"options": tag + options, "text": tag + "{question}", "generate": tag + options},
    }

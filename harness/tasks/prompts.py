"""Versioned prompt templates: one `PromptSet` per task, rendered per VLM family and prompt style.

Templates are plain data so a snapshot test can catch any change; bump `version` whenever a rendered
prompt changes. `{question}` is the item's question (for VSR the caption, for HM the meme text) and
`{options}` the lettered choice lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.answers import LETTERS
from harness.tasks.base import Item, Prompt


@dataclass(frozen=True)
class Derived:
    """A family rendered from another family's templates (`templates_of`), wrapped in `prefix`/`suffix` (the
    suffix, an answer cue, is left out when the template already ends with "Answer:"), scoring `words_of`'s
    option words."""

    templates_of: str
    words_of: str
    prefix: str = ""
    suffix: str = ""

    def wrap(self, template: str) -> str:
        tail = "" if template.rstrip().endswith("Answer:") else self.suffix
        return self.prefix + template + tail


# Families whose published evaluation prompts are another family's, possibly wrapped:
# - LLaVA-NeXT (blog "LLaVA-NeXT: Improved reasoning, OCR, and world knowledge", 2024-01-30) and LLaVA-OneVision
#   (Li et al. 2024, arXiv:2408.03326) were evaluated with LLaVA-1.5's response-format prompts ("Answer with the
#   option's letter from the given choices directly.", as lmms-eval runs both): LLaVA's templates and words.
# - BLIP-2 (Li et al. 2023, arXiv:2301.12597, §4.2 and the blip2-opt model card): "Question: {} Answer:" around
#   the instruction; OPT answers lowercase (MiniGPT-v2's lowercase words).
# - InstructBLIP (Dai et al. 2023, arXiv:2305.06500, short-answer VQA template "Question: {} Short answer:"):
#   the instruction inside that template, lowercase words.
# - Qwen2.5-VL / Qwen3-VL, Gemma 4 and Chameleon: chat models evaluated (lmms-eval, VLMEvalKit) with the same
#   response-format prompts ("Answer with the option's letter from the given choices directly."): LLaVA's.
DERIVED = {
    "llava_next": Derived("llava", "llava"),
    "llava_onevision": Derived("llava", "llava"),
    "blip2": Derived("llava", "minigptv2", "Question: ", " Answer:"),
    "instructblip": Derived("llava", "minigptv2", "Question: ", " Short answer:"),
    "qwen2_5_vl": Derived("llava", "llava"),
    "qwen3_vl": Derived("llava", "llava"),
    "gemma4": Derived("llava", "llava"),
    "chameleon": Derived("llava", "llava"),
}
FAMILIES = ("llava", "minigptv2", *DERIVED)
STYLES = ("options", "text")
MODES = STYLES + ("generate",)
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
        """Families with templates, their own or derived (`DERIVED`)."""
        return sorted(set(self.templates) | {f for f, d in DERIVED.items() if d.templates_of in self.templates})

    def template(self, family: str, mode: str) -> str:
        if mode not in MODES:
            raise InvalidInput(f"unknown prompt style {mode!r}; expected one of {MODES}")
        if family in self.templates:
            return self.templates[family][mode]
        derived = DERIVED.get(family)
        if derived is None or derived.templates_of not in self.templates:
            raise InvalidInput(f"unknown VLM family {family!r}; prompts exist for {self.families()}")
        return derived.wrap(self.templates[derived.templates_of][mode])

    def choice_texts(self, item: Item, family: str) -> tuple[str, ...]:
        if family not in self.words and family in DERIVED:
            family = DERIVED[family].words_of
        return tuple(self.words.get(family, item.choices))

    def render(self, item: Item, family: str, mode: str) -> str:
        choices = self.choice_texts(item, family)
        if len(choices) > len(LETTERS):
            raise InvalidInput(f"item {item.id}: {len(choices)} choices exceed the {len(LETTERS)} option letters")
        options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))
        return self.template(family, mode).format(question=item.question, options=options)

    def prompt(self, item: Item, family: str, style: str) -> Prompt:
        """`options`: the lettered list in the prompt, letters scored; `text`: each option text scored."""
        if style not in STYLES:
            raise InvalidInput(f"unknown prompt style {style!r}; expected one of {STYLES}")
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

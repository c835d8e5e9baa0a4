"""The LoRSU code's own scoring of generated answers, one function per rule, beside the harness's parsing.

LoRSU (`src/llava/eval/eval_vqa_utils.py`) decodes a greedy generation, strips it and counts an item correct by
a fixed rule per dataset. These functions are those rules applied to a sample's stored `generation`; the tasks
report them as `acc_official` next to `acc` (the harness's lenient `harness.tasks.answers` parsing). Where the
code's rule has a flaw, a fixed rule is reported as `acc_official_fixed`:

- letters (TSI, DA·E, FGVC-Aircraft, EuroSAT, CounterAnimal): the stripped answer must be exactly "A"…"E";
- GTSRB: also "a"…"e", "a."…"e.", "B."…"E." (the code's list repeats "a." where "A." belongs; "A." still
  counts through the next step), then the first letter X of A…E, in alphabetical order, with "X." anywhere in
  the answer, even inside a word ("ROAD." names D); fixed: the earliest "X." that does not end a word or an
  abbreviation;
- VSR: the label word ("true"/"false") anywhere in the lowercased answer, so "not true" and "untrue" count as
  true and "true or false" is right for both labels; fixed: the one word of the two that occurs as a word;
- Hateful Memes: the answer lowercased, stripped, every "." removed, must then be "yes" or "no" exactly.

The code divides by every item of the split; here the denominator is the scored items (`metrics.scored`:
items whose image could not be read are left out, as from every other metric).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from harness.tasks.metrics import Metric, mean_stderr, scored

Rule = Callable[[str, int], bool]  # (generation, answer index) → counted correct
LETTERS = "ABCDE"
TRUE_FALSE = ("true", "false")  # VSR's choice order
# eval_gtsrbvqa's list as written: "a." twice and no "A."
_GTSRB_FORMS = frozenset(["a", "b", "c", "d", "e", "a.", "b.", "c.", "d.", "e.", "a.", "B.", "C.", "D.", "E."])
_DOTTED_WORD = re.compile(r"(?<![A-Za-z.])([A-E])\.")
_WORDS = re.compile(r"[a-z]+")


def letter_exact(text: str) -> int:
    """TSI / DA·E / Aircraft / EuroSAT / CounterAnimal: index of the stripped answer if it is one of "A"…"E"."""
    s = text.strip()
    return LETTERS.index(s) if len(s) == 1 and s in LETTERS else -1


def gtsrb_letter(text: str) -> int:
    """GTSRB as the code scores it: exact letter, a few lowercase/dotted forms, else the first "X." by letter."""
    s = text.strip()
    if s in _GTSRB_FORMS:
        s = s.upper()[0]
    if len(s) == 1 and s in LETTERS:
        return LETTERS.index(s)
    return next((i for i, k in enumerate(LETTERS) if f"{k}." in s), -1)


def gtsrb_letter_fixed(text: str) -> int:
    """GTSRB's forms with its "X." search fixed: the earliest "X." that is not the end of a word or abbreviation."""
    s = text.strip()
    if s in _GTSRB_FORMS:
        s = s.upper()[0]
    if len(s) == 1 and s in LETTERS:
        return LETTERS.index(s)
    m = _DOTTED_WORD.search(s)
    return LETTERS.index(m.group(1)) if m else -1


def true_false_substring(text: str, answer: int) -> bool:
    """VSR as the code scores it: the label word occurs anywhere in the stripped, lowercased answer."""
    return TRUE_FALSE[answer] in text.strip().lower()


def true_false_fixed(text: str) -> int:
    """0 (true) or 1 (false) when exactly one of the two occurs as a whole word; -1 for neither or both."""
    found = {w for w in _WORDS.findall(text.lower()) if w in TRUE_FALSE}
    return TRUE_FALSE.index(found.pop()) if len(found) == 1 else -1


def yes_no_exact(text: str) -> int:
    """Hateful Memes as the code scores it: 0 (yes) or 1 (no) for the answer stripped, lowercased, dots removed."""
    s = text.strip().lower().strip().replace(".", "")
    return 0 if s == "yes" else 1 if s == "no" else -1


def by_pick(pick: Callable[[str], int]) -> Rule:
    """A rule that counts an item correct when `pick`'s choice index is the answer."""
    return lambda text, answer: pick(text) == answer


def official_metrics(samples: list[dict[str, Any]], rules: Mapping[str, Rule]) -> dict[str, Metric]:
    """Each rule's accuracy over the scored generative samples; {} for likelihood samples (no `generation`)."""
    generated = [s for s in scored(samples) if "generation" in s]
    if not generated:
        return {}
    return {
        name: mean_stderr([float(rule(s["generation"] or "", s["answer"])) for s in generated])
        for name, rule in rules.items()
    }

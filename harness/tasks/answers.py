"""Generative mode: turn a model's free-text answer into a choice index (-1 when it names none).

Letters follow the LoRSU rules (a bare letter "A"…"E", also lowercase "a" / "a.", or "X." inside the
text) plus a few common forms ("(B)", "Answer: C", an option's own text). Binary answers look for the
first yes/no or true/false word, as LoRSU and MiniGPT-v2 count them.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

LETTERS = string.ascii_uppercase


_LEAD = re.compile(r"^\(?([A-Za-z])\s*[\.\):]")
_ANSWER_IS = re.compile(r"\b(?i:answer)(?:\s+is)?\s*[:\-]?\s*\(?([A-Z])\b")
_DOTTED = re.compile(r"(?<![A-Za-z])([A-Z])\.")
_WORD = re.compile(r"[a-z]+")


def extract_letter(text: str, choices: Sequence[str]) -> int:
    """Index of the option a generated answer names, by letter or by its text; -1 when none."""
    n = len(choices)
    s = text.strip()
    if not s or n == 0:
        return -1
    letters = LETTERS[:n]
    bare = s.strip("()").rstrip(".):").strip()
    if len(bare) == 1 and bare.upper() in letters:
        return letters.index(bare.upper())
    m = _LEAD.match(s)
    # a lowercase lead letter counts only with its dot/paren ("a." ), not as the article in "a dog"
    if m and m.group(1).upper() in letters and (m.group(1).isupper() or s[m.end() - 1] in ".)"):
        return letters.index(m.group(1).upper())
    for pattern in (_ANSWER_IS, _DOTTED):
        for m in pattern.finditer(s):
            if m.group(1) in letters:
                return letters.index(m.group(1))
    return match_option_text(s, choices)


def match_option_text(text: str, choices: Sequence[str]) -> int:
    """The option whose text equals the answer, else the only option contained in it; -1 otherwise."""
    s = text.strip().rstrip(".").strip().lower()
    lowered = [c.strip().lower() for c in choices]
    if s in lowered:
        return lowered.index(s)
    inside = [i for i, c in enumerate(lowered) if c and re.search(rf"(?<!\w){re.escape(c)}(?!\w)", s)]
    return inside[0] if len(inside) == 1 else -1


def extract_word(text: str, words: Sequence[str]) -> int:
    """Index (into `words`) of the first of `words` that occurs as a whole word, case-insensitive; -1 if none."""
    wanted = [w.lower() for w in words]
    for token in _WORD.findall(text.lower()):
        if token in wanted:
            return wanted.index(token)
    return -1


def extract_yes_no(text: str) -> int:
    """0 for yes, 1 for no (the HM choice order), -1 when neither word occurs."""
    return extract_word(text, ("yes", "no"))


def extract_true_false(text: str) -> int:
    """0 for true, 1 for false (the VSR choice order), -1 when neither word occurs."""
    return extract_word(text, ("true", "false"))

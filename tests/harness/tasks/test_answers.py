"""Generative answer extraction: letters, option texts, yes/no, true/false."""

from __future__ import annotations

import pytest

from harness.tasks.answers import extract_letter, extract_true_false, extract_yes_no

CHOICES = ("walking", "eating", "holding a cup", "sitting down", "reading a book")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A", 0),
        ("E", 4),
        ("b", 1),
        ("c.", 2),
        ("D.", 3),
        ("(B)", 1),
        ("C) holding a cup", 2),
        ("B. eating", 1),
        ("The answer is D.", 3),
        ("Answer: E", 4),
        ("I think it is C.", 2),
        ("eating", 1),
        ("The person is reading a book.", 4),
        ("Holding a cup", 2),
        ("F", -1),
        ("a dog", -1),
        ("", -1),
        ("nothing useful", -1),
        ("walking and eating", -1),
    ],
)
def test_letters_and_texts(text, expected):
    assert extract_letter(text, CHOICES) == expected


def test_letters_beyond_the_choices_are_ignored():
    assert extract_letter("C", ("x", "y")) == -1
    assert extract_letter("B", ("x", "y")) == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Yes", 0),
        ("no.", 1),
        ("Yes, it is hateful.", 0),
        ("No, it is not.", 1),
        ("maybe", -1),
        ("", -1),
        ("I would say no", 1),
        ("nothing", -1),
    ],
)
def test_yes_no(text, expected):
    assert extract_yes_no(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("True", 0),
        ("false", 1),
        ("The statement is false.", 1),
        ("TRUE.", 0),
        ("untrue", -1),
        ("", -1),
    ],
)
def test_true_false(text, expected):
    assert extract_true_false(text) == expected

"""VizWiz VQA accuracy against cases worked by hand from the official definition."""

from __future__ import annotations

import pytest

from harness.tasks.vqa_accuracy import normalize_answer, process_punctuation, vqa_accuracy


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Two.", "2"),  # period stripped, number word → digit
        ("The red one", "red 1"),  # article dropped, lowercased
        ("yes!", "yes"),  # "!" not touching a space → replaced by a space, then split away
        ("hello, world", "hello world"),  # ", " touches a space → removed
        ("1,000 dollars", "1000 dollars"),  # digit,digit → every punctuation mark removed
        ("x-y", "x y"),  # no space next to "-" → becomes a space
        ("3.5", "3.5"),  # a period before a digit stays
        ("dont", "don`t"),  # the official contraction table uses backticks
        ("weve", "we've"),
        ("  coke\n", "coke"),  # whitespace stripped, newline → space
        ("An apple; a pear", "apple pear"),  # "; " removed, both articles dropped
        ("none", "0"),
    ],
)
def test_normalisation(raw, expected):
    assert normalize_answer(raw) == expected


def test_punctuation_keeps_the_official_quirks():
    # "(" has no neighbouring space, but the text has "p " for ")" → only ")" is removed, "(" becomes a space
    assert process_punctuation("x(y) z") == "x y z"
    # at most 32 periods are removed (the official call passes re.UNICODE as the count)
    assert process_punctuation("." * 40) == "." * 8


def test_three_of_ten_matching():
    # 3 annotators said "2": leaving one of them out leaves 2 matches (2/3); leaving out another leaves 3 (1)
    answers = ["2"] * 3 + ["3"] * 7
    assert vqa_accuracy("Two.", answers) == pytest.approx((3 * 2 / 3 + 7 * 1) / 10)


def test_two_of_ten_and_one_of_ten():
    answers = ["blue"] * 2 + ["navy"] * 8
    assert vqa_accuracy("blue", answers) == pytest.approx((2 * (1 / 3) + 8 * (2 / 3)) / 10)
    answers = ["blue"] + ["navy"] * 9
    assert vqa_accuracy("blue", answers) == pytest.approx(9 * (1 / 3) / 10)


def test_four_or_more_matches_score_one():
    assert vqa_accuracy("yes", ["yes"] * 4 + ["no"] * 6) == 1.0
    assert vqa_accuracy("unanswerable", ["unanswerable"] * 10) == 1.0


def test_ground_truth_is_not_normalised():
    # the prediction "Two" becomes "2", which does not equal the raw ground truth "Two"
    assert vqa_accuracy("Two", ["Two"] * 10) == 0.0
    assert vqa_accuracy("no match", ["x"] * 10) == 0.0


def test_no_answers_is_an_error():
    with pytest.raises(ValueError):
        vqa_accuracy("x", [])

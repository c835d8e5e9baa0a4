"""The user-error family's one-line rule: `one_line` is what every printed user error goes through."""

from __future__ import annotations

import pytest

from harness.errors import InvalidInput, one_line


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("plain message", "plain message"),
        (
            "not a readable TSV (Expected 14 fields in line 3, saw 16\n)",
            "not a readable TSV (Expected 14 fields in line 3, saw 16 )",
        ),
        ("a\r\n  b\n\n\tc", "a b c"),
        ("kept  double  spaces\u2028and a line separator", "kept  double  spaces and a line separator"),
        ("\n  leading and trailing \n", "leading and trailing"),
        ("", ""),
    ],
)
def test_one_line_collapses_line_breaks(message, line):
    assert one_line(message) == line


def test_one_line_takes_the_exception_itself():
    assert one_line(InvalidInput("--x: bad\nvalue\n")) == "--x: bad value"

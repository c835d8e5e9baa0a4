"""The user-error family: bad input the user can fix (a missing or broken file, an unknown name, a run
that does not match). The CLI prints such an error as one line and exits with its `exit_code`; any other
exception is a bug and keeps its traceback. Torch-free and import-free, so every layer may raise these."""

from __future__ import annotations

import re

# a whitespace run holding a line break (str.splitlines' boundaries): a wrapped library message's newlines
_BREAK = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]\s*")


class UserError(Exception):
    """Bad input; the message names the input (option, file, key, shape) and what was expected."""

    exit_code = 2


class InputNotFound(UserError, FileNotFoundError):
    """A file or directory the user named does not exist, or holds nothing of the expected kind."""


class InvalidInput(UserError, ValueError):
    """An input exists but is malformed, of the wrong kind, or inconsistent with the rest."""


class UnknownName(InvalidInput, KeyError):
    """A task, VLM family, format or other name that is not one of the known ones (the message lists them);
    also a KeyError (a lookup that failed) and a ValueError (a bad value), as the callers knew it before."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def one_line(message: object) -> str:
    """`message` as the one line a user error prints: every whitespace run holding a line break (pandas' trailing
    newline, a traceback-like library text) becomes one space, and the ends are stripped."""
    return _BREAK.sub(" ", str(message)).strip()

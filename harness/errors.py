"""The user-error family: bad input the user can fix (a missing or broken file, an unknown name, a run
that does not match). The CLI prints such an error as one line and exits with its `exit_code`; any other
exception is a bug and keeps its traceback. Torch-free and import-free, so every layer may raise these."""

from __future__ import annotations


class UserError(Exception):
    """Bad input; the message names the input (option, file, key, shape) and what was expected."""

    exit_code = 2


class InputNotFound(UserError, FileNotFoundError):
    """A file or directory the user named does not exist, or holds nothing of the expected kind."""


class InvalidInput(UserError, ValueError):
    """An input exists but is malformed, of the wrong kind, or inconsistent with the rest."""

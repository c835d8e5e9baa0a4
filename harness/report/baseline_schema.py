"""The baseline file's schema (see harness.report.gate): a broken baseline is reported naming the file and
the field, so that "could not check" (exit 2) is never mistaken for "the gate failed" (exit 1)."""

from __future__ import annotations

from typing import Any

from harness.errors import InvalidInput

NUMBER = (int, float)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _need(ok: bool, where: str, field: str, expected: str, value: Any) -> None:
    if not ok:
        raise InvalidInput(f"{where}: {field} must be {expected}, got {_kind(value)} ({str(value)[:40]})")


def _optional(value: Any, types: tuple[type, ...]) -> bool:
    return value is None or (isinstance(value, types) and not isinstance(value, bool))


def check_baseline_schema(data: Any, where: str) -> None:
    """Raise `InvalidInput` naming `where` and the first field that does not match the baseline schema."""
    _need(isinstance(data, dict), where, "the file", "a JSON object", data)
    for key in ("fingerprint", "source"):
        _need(isinstance(data.get(key, {}), dict), where, f'"{key}"', "an object", data.get(key))
    tasks = data.get("tasks")
    _need(isinstance(tasks, dict), where, '"tasks"', "an object of tasks", tasks)
    for task, entry in tasks.items():
        at = f'"tasks"."{task}"'
        _need(isinstance(entry, dict), where, at, "an object", entry)
        for key in ("n", "n_errors"):
            _need(_optional(entry.get(key), (int,)), where, f'{at}."{key}"', "an integer or null", entry.get(key))
        for key in ("version", "prompt_version", "item_set_sha256", "prompts_sha256"):
            _need(_optional(entry.get(key), (str,)), where, f'{at}."{key}"', "a string or null", entry.get(key))
        metrics = entry.get("metrics", {})
        _need(isinstance(metrics, dict), where, f'{at}."metrics"', "an object", metrics)
        for name, m in metrics.items():
            mat = f'{at}."metrics"."{name}"'
            _need(isinstance(m, dict), where, mat, "an object", m)
            for key in ("value", "stderr"):
                _need(_optional(m.get(key), NUMBER), where, f'{mat}."{key}"', "a number or null", m.get(key))
            for key in ("n_pos", "n_neg"):
                _need(_optional(m.get(key), (int,)), where, f'{mat}."{key}"', "an integer or null", m.get(key))

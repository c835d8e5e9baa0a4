"""Task names → task factories. `build_task("mcq_jsonl=PATH", ...)` parses the name=argument form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.errors import InvalidInput, UnknownName
from harness.tasks.base import Task

TaskFactory = Callable[..., Task]
_REGISTRY: dict[str, TaskFactory] = {}


def register(name: str) -> Callable[[TaskFactory], TaskFactory]:
    def deco(factory: TaskFactory) -> TaskFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def available() -> dict[str, TaskFactory]:
    _import_all()
    return dict(_REGISTRY)


def build_task(spec: str, data_root: Path | None = None, data: dict[str, Path] | None = None, seed: int = 0) -> Task:
    """Build a task from `name[:split][=PATH]`; PATH overrides the data location, `:split` the split."""
    _import_all()
    head, _, arg = spec.partition("=")
    name, _, split = head.partition(":")
    if name not in _REGISTRY:
        raise UnknownName(f"unknown task {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    path = Path(arg) if arg else (data or {}).get(name)
    kwargs = {"split": split} if split else {}
    try:
        return _REGISTRY[name](path=path, data_root=data_root, seed=seed, **kwargs)
    except TypeError as e:
        if split and "split" in str(e):
            raise InvalidInput(f"task {name!r} does not take a split (got {spec!r})") from e
        raise


def _import_all() -> None:
    import importlib
    import pkgutil

    import harness.tasks as tasks

    for mod in pkgutil.iter_modules(tasks.__path__):
        if mod.name not in ("base", "registry"):
            importlib.import_module(f"harness.tasks.{mod.name}")

"""Loading a transformers model only when the directory holds that model, complete.

`from_pretrained` accepts a directory of another family (LLaVA for CLIP) or a checkpoint that lacks
tensors, initialises what is missing at random and goes on; these helpers refuse both, naming the option
the user typed and the first offending keys. `check_model_dir` is torch-free: it runs before any load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import InputNotFound, InvalidInput

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")
SHOW = 5  # offending keys named in a message


def check_model_dir(model_dir: Path, option: str, model_types: Iterable[str]) -> dict[str, Any]:
    """The directory's config (a dict) when it has a config.json of one of `model_types` and weight files."""
    model_dir = Path(model_dir)
    types = tuple(model_types)
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        raise InputNotFound(f"{option} {model_dir}: no config.json (expected a {'/'.join(types)} model directory)")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(f"{option} {cfg_path}: not valid JSON ({e})") from e
    if not isinstance(cfg, dict):
        raise InvalidInput(f"{option} {cfg_path}: expected a JSON object, got {type(cfg).__name__}")
    kind = cfg.get("model_type")
    if kind not in types:
        arch = ", ".join(cfg.get("architectures") or []) or "no architectures"
        raise InvalidInput(
            f"{option} {model_dir}: holds a {kind!r} model ({arch}); "
            f"expected model_type {' or '.join(map(repr, types))}"
        )
    if not any(p.suffix in WEIGHT_SUFFIXES for p in model_dir.iterdir()):
        raise InputNotFound(
            f"{option} {model_dir}: no weight files "
            "(expected model.safetensors or pytorch_model.bin beside config.json)"
        )
    return cfg


def load_complete(
    cls: Any,
    model_dir: Path,
    option: str,
    allow_missing: Iterable[str] = (),
    allow_unexpected: Iterable[str] = (),
    **kwargs: Any,
) -> Any:
    """`cls.from_pretrained(model_dir, **kwargs)`, refused when a tensor of the model is missing from the files
    or a tensor in the files is not used, except keys matching the `allow_*` regular expressions."""
    model_dir = Path(model_dir)
    files = safetensors_files(model_dir, option)
    try:
        if files:
            model, info = _load_by_pread(cls, model_dir, files, option, kwargs)
        else:
            model, info = cls.from_pretrained(model_dir, output_loading_info=True, **kwargs)
    except OSError as e:  # transformers reports unreadable or absent weight files as OSError
        raise InvalidInput(f"{option} {model_dir}: cannot load the weights ({str(e).splitlines()[0]})") from e
    problems = []
    for what, keys, allowed in (
        ("missing from the files", info.get("missing_keys", ()), tuple(allow_missing)),
        ("in the files but not in the model", info.get("unexpected_keys", ()), tuple(allow_unexpected)),
    ):
        bad = sorted(k for k in keys if not any(re.search(a, k) for a in allowed))
        if bad:
            problems.append(f"{len(bad)} tensors {what}, e.g. {', '.join(bad[:SHOW])}")
    mismatched = sorted(str(m[0] if isinstance(m, tuple) else m) for m in info.get("mismatched_keys", ()))
    if mismatched:
        problems.append(f"{len(mismatched)} tensors of another shape, e.g. {', '.join(mismatched[:SHOW])}")
    if info.get("error_msgs"):
        problems.append("; ".join(map(str, info["error_msgs"][:SHOW])))
    if problems:
        raise InvalidInput(
            f"{option} {model_dir}: the weights do not fit {cls.__name__} ({'; '.join(problems)}); nothing was loaded"
        )
    return model


def safetensors_files(model_dir: Path, option: str) -> list[Path]:
    """The safetensors files `from_pretrained` would read: the shards of model.safetensors.index.json, or
    model.safetensors; empty when the weights are in another format."""
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            names = sorted(set(weight_map.values()))
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise InvalidInput(f"{option} {index}: expected JSON with a 'weight_map' of key -> shard file ({e})") from e
        missing = [n for n in names if not (model_dir / n).is_file()]
        if missing:
            raise InputNotFound(f"{option} {index}: names shard files that are absent: {', '.join(missing[:SHOW])}")
        return [model_dir / n for n in names]
    single = model_dir / "model.safetensors"
    return [single] if single.is_file() else []


@contextmanager
def pread_state_dict(files: list[Path], option: str) -> Iterator[dict[str, Any]]:
    """Lazy tensors of `files` that are read with pread when transformers materialises them, one at a time.

    transformers' own path memory-maps each file, and every page read stays in the process's resident set
    until the file is closed: converting fp16 files to bf16 would peak at twice the weights' size.
    """
    from safetensors import SafetensorError, safe_open

    handles, state = [], {}
    try:
        for f in files:
            try:
                handle = safe_open(str(f), framework="pt", device="cpu", backend="pread")
            except (SafetensorError, OSError) as e:
                raise InvalidInput(f"{option} {f}: not a readable safetensors file ({e})") from e
            handles.append(handle)
            state.update((k, handle.get_slice(k)) for k in handle.keys())
        yield state
    finally:
        for handle in handles:
            handle.__exit__(None, None, None)


def _load_by_pread(cls: Any, model_dir: Path, files: list[Path], option: str, kwargs: dict) -> tuple[Any, dict]:
    """`from_pretrained` fed the directory's config, generation config and pread tensors; same result, less RAM."""
    from transformers import GenerationConfig

    config = cls.config_class.from_pretrained(model_dir)
    if (model_dir / "generation_config.json").is_file() and "generation_config" not in kwargs:
        kwargs = {**kwargs, "generation_config": GenerationConfig.from_pretrained(model_dir)}
    with pread_state_dict(files, option) as state:
        model, info = cls.from_pretrained(None, config=config, state_dict=state, output_loading_info=True, **kwargs)
    model.config.name_or_path = str(model_dir)
    return model, info

"""A checkpoint's tensor names without torch: a safetensors header, or the pickle inside a `torch.save` zip
unpickled into placeholders (no tensor data is read and no module is imported), unwrapped from its container
as the reader does. `harness eval` checks `--encoder` with it before torch is imported; what it cannot read so
(TorchScript archives, legacy pickles, pickled objects) it leaves to the reader, whose messages then apply."""

from __future__ import annotations

import collections
import json
import pickle
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CheckpointNotFoundError, EncoderCheckpointError

# Looked into, in this order, when a loaded object is a container rather than a state dict.
CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "weights", "params")
# Stripped when every key carries them (DDP wrapping, torch.compile wrapping).
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
# Weight files of a model directory, in order of preference (index files first: sharded weights).
DIR_INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
DIR_WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.bin",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_TENSOR_REBUILDERS = {"_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter", "_rebuild_parameter_with_state"}


@dataclass
class Unwrapped:
    """The state dict found inside a loaded object, with what was done to find it."""

    tensors: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # unwrapping / prefix stripping performed
    non_tensor_entries: list[str] = field(default_factory=list)  # dropped non-tensor values


def unwrap(obj: Any, path: Path, is_tensor: Callable[[Any], bool]) -> Unwrapped:
    """Unwrap containers (`{"state_dict": ...}` and the like) and wrapper prefixes of a loaded object."""
    notes: list[str] = []
    where = "top level"
    for _ in range(len(CONTAINER_KEYS) + 1):
        if not isinstance(obj, Mapping):
            raise EncoderCheckpointError(f"{path}: {where} holds a {type(obj).__name__}, not a state dict", path=path)
        inner = next((k for k in CONTAINER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        notes.append(f"unwrapped container key {inner!r}")
        where = f"entry {inner!r}"
        obj = obj[inner]
    tensors = {k: v for k, v in obj.items() if isinstance(k, str) and is_tensor(v)}
    if not tensors:
        keys = ", ".join(map(str, list(obj)[:8])) or "nothing"
        raise EncoderCheckpointError(f"{path}: no tensors found, not a checkpoint ({where} holds: {keys})", path=path)
    non_tensor = sorted(str(k) for k in obj if k not in tensors)
    changed = True
    while changed:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in tensors):
                tensors = {k[len(prefix) :]: v for k, v in tensors.items()}
                notes.append(f"stripped wrapper prefix {prefix!r}")
                changed = True
    return Unwrapped(tensors, notes, non_tensor)


def checkpoint_path(path: str | Path) -> Path:
    """The expanded path; a missing one is an error naming it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointNotFoundError(f"encoder checkpoint not found: {path}", path=path)
    return path


def directory_weight_files(path: Path) -> list[Path]:
    """The weight files of a model directory: a shard index's shards, a standard file name, or the only one."""
    for index_name in DIR_INDEX_FILES:
        index = path / index_name
        if index.is_file():
            weight_map = json.loads(index.read_text()).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise EncoderCheckpointError(f"{index}: no 'weight_map' in the shard index", path=path)
            shards = [path / name for name in sorted(set(weight_map.values()))]
            absent = [s.name for s in shards if not s.is_file()]
            if absent:
                raise EncoderCheckpointError(
                    f"{path}: shards listed in {index_name} are missing: {', '.join(absent)}", path=path
                )
            return shards
    for name in DIR_WEIGHT_FILES:
        if (path / name).is_file():
            return [path / name]
    candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if len(candidates) == 1:
        return candidates
    found = ", ".join(p.name for p in candidates) or "none"
    raise EncoderCheckpointError(
        f"{path}: directory holds no recognisable weights (expected model.safetensors, "
        f"pytorch_model.bin or a shard index; weight-like files found: {found})",
        path=path,
    )


def read_head(path: Path) -> bytes:
    """The first bytes of a weight file; an empty file is an error naming it."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        raise EncoderCheckpointError(f"{path}: file is empty, not a checkpoint", path=path)
    return head


def looks_like_safetensors(path: Path, head: bytes) -> bool:
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < header_len <= path.stat().st_size - 8


def is_torchscript_zip(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def peek_names(path: str | Path) -> list[str] | None:
    """The tower-relevant tensor names of a checkpoint file or directory (unwrapped, prefixes stripped), or None
    where only torch can tell. Missing paths, empty files and directories without weights raise here."""
    path = checkpoint_path(path)
    files = directory_weight_files(path) if path.is_dir() else [path]
    names: list[str] = []
    for f in files:
        found = _file_names(f, read_head(f))
        if found is None:
            return None
        names += found
    return names


class _Tensor:
    """What a tensor unpickles to here: nothing but its place in the state dict."""


class _Refused(pickle.UnpicklingError):
    pass


class _NamesUnpickler(pickle.Unpickler):
    """Knows only what a plain state dict pickles: OrderedDict, storages and tensor rebuilders."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in _TENSOR_REBUILDERS:
            return lambda *args, **kwargs: _Tensor()
        if module == "torch" and name.endswith("Storage"):
            return _Tensor
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> None:
        return None


def _file_names(path: Path, head: bytes) -> list[str] | None:
    try:
        if path.suffix == ".safetensors" or looks_like_safetensors(path, head):
            with open(path, "rb") as f:
                size = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(size))
            obj: Any = {k: _Tensor() for k in header if k != "__metadata__"}
        elif zipfile.is_zipfile(path) and not is_torchscript_zip(path):
            with zipfile.ZipFile(path) as z:
                pkl = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
                if len(pkl) != 1:
                    return None
                with z.open(pkl[0]) as f:
                    obj = _NamesUnpickler(f).load()
        else:
            return None
        return list(unwrap(obj, path, lambda v: isinstance(v, _Tensor)).tensors)
    except Exception:  # whatever this reader cannot vouch for, the torch reader reads and reports
        return None

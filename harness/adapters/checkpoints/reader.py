"""Reading an encoder checkpoint from disk into a flat `{name: tensor}` dict, safely, with its sha256.

Accepted: a `.safetensors` file, a `torch.save` file (`.bin`, `.pt`, `.pth`, loaded with
`weights_only=True`, so no arbitrary code is unpickled), an OpenAI-style TorchScript archive
(`torch.jit.load`), or a Hugging Face model directory (single or sharded weights). Common
containers (`{"state_dict": ...}`, `{"model": ...}`, `{"epoch": .., "state_dict": ..}`) are
unwrapped and a DDP `module.` (or `torch.compile` `_orig_mod.`) prefix is stripped.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .errors import EncoderCheckpointError
from .names import (
    checkpoint_path,
    directory_weight_files,
    is_torchscript_zip,
    looks_like_safetensors,
    read_head,
    unwrap,
)

_CHUNK = 1 << 22


@dataclass
class RawCheckpoint:
    """What was read from `path`: tensors under their names in the file, plus provenance."""

    path: Path
    tensors: dict[str, torch.Tensor]
    sha256: str
    files: dict[str, str]  # relative file name -> sha256 (one entry for a single file)
    container: str  # how the tensors were stored, e.g. "safetensors", "torch.save", "torchscript"
    torchscript: bool = False
    notes: list[str] = field(default_factory=list)  # unwrapping / prefix stripping performed
    non_tensor_entries: list[str] = field(default_factory=list)  # dropped non-tensor values

    def dtypes(self) -> dict[str, int]:
        """Number of tensors per dtype in the file, e.g. {"float16": 40, "float32": 12}."""
        out: dict[str, int] = {}
        for t in self.tensors.values():
            name = str(t.dtype).removeprefix("torch.")
            out[name] = out.get(name, 0) + 1
        return dict(sorted(out.items()))


def sha256_of_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def sha256_of_directory(root: Path) -> tuple[str, dict[str, str]]:
    """Hash of a directory: sha256 over the sorted lines `relative/path<TAB>sha256-of-file`.

    Every regular file is included except those under a name starting with "." (such as the
    `.cache/` that `huggingface_hub` writes, whose contents change between downloads).
    """
    files: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        files[rel.as_posix()] = sha256_of_file(p)
    manifest = "".join(f"{name}\t{digest}\n" for name, digest in sorted(files.items()))
    return hashlib.sha256(manifest.encode()).hexdigest(), files


def read_checkpoint(path: str | Path, peek: bool = False) -> RawCheckpoint:
    """Read a checkpoint file or directory; raise EncoderCheckpointError naming `path` on failure.

    `peek`: names, shapes and dtypes only (safetensors tensors come back on the meta device, torch.save
    zips memory-mapped) and no sha256: enough to detect the format before a model loads."""
    path = checkpoint_path(path)
    try:
        if path.is_dir():
            return _read_directory(path, peek)
        return _read_file(path, peek)
    except EncoderCheckpointError:
        raise
    except pickle.UnpicklingError as e:
        raise EncoderCheckpointError(
            f"{path}: not a checkpoint that can be read safely (torch.load with weights_only=True "
            f"refused it: {_unpickler_reason(e)}); pickled Python objects are never loaded",
            path=path,
        ) from e
    except Exception as e:  # any loader failure becomes one clear error naming the path
        raise EncoderCheckpointError(
            f"{path}: not a readable checkpoint ({type(e).__name__}: {_first_line(e)})", path=path
        ) from e


def _read_file(path: Path, peek: bool) -> RawCheckpoint:
    obj, container, torchscript = _load_one(path, peek)
    digest = "" if peek else sha256_of_file(path)
    ckpt = RawCheckpoint(
        path=path, tensors={}, sha256=digest, files={path.name: digest}, container=container, torchscript=torchscript
    )
    _fill(ckpt, obj)
    return ckpt


def _read_directory(path: Path, peek: bool) -> RawCheckpoint:
    weight_files = directory_weight_files(path)
    tensors: dict[str, Any] = {}
    notes: list[str] = []
    non_tensor: list[str] = []
    containers = set()
    for wf in weight_files:
        obj, container, torchscript = _load_one(wf, peek)
        if torchscript:
            raise EncoderCheckpointError(f"{wf}: TorchScript archives are only read as single files", path=path)
        containers.add(container)
        part = RawCheckpoint(path=wf, tensors={}, sha256="", files={}, container=container)
        _fill(part, obj)
        notes += part.notes
        non_tensor += part.non_tensor_entries
        for k, v in part.tensors.items():
            if k in tensors:
                raise EncoderCheckpointError(f"{path}: tensor {k!r} appears in more than one shard", path=path)
            tensors[k] = v
    digest, files = ("", {}) if peek else sha256_of_directory(path)
    kind = "+".join(sorted(containers))
    container = f"directory ({kind}, {len(weight_files)} shards)" if len(weight_files) > 1 else f"directory ({kind})"
    return RawCheckpoint(
        path=path,
        tensors=tensors,
        sha256=digest,
        files=files,
        container=container,
        notes=sorted(set(notes)),
        non_tensor_entries=sorted(set(non_tensor)),
    )


def _load_one(path: Path, peek: bool = False) -> tuple[Any, str, bool]:
    """(loaded object, container description, is TorchScript) for one file."""
    head = read_head(path)
    if path.suffix == ".safetensors" or looks_like_safetensors(path, head):
        from safetensors.torch import load_file

        return (_safetensors_meta(path) if peek else load_file(str(path), device="cpu")), "safetensors", False
    is_zip = zipfile.is_zipfile(path)
    if is_zip and is_torchscript_zip(path):
        with warnings.catch_warnings():  # torch deprecates TorchScript; OpenAI released it so
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location="cpu")
        return dict(module.state_dict()), "torchscript", True
    # mmap (zip format only): tensors the tower does not use, e.g. a whole LLaVA's language
    # model, are never read into memory.
    return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip), "torch.save", False


def _safetensors_meta(path: Path) -> dict[str, torch.Tensor]:
    """The file's tensors as meta tensors (names, shapes, dtypes) read from its header alone."""
    from safetensors import safe_open

    out = {}
    with safe_open(str(path), framework="pt") as f:
        for name in f.keys():
            sl = f.get_slice(name)
            out[name] = torch.empty(sl.get_shape(), dtype=_SAFETENSORS_DTYPES[sl.get_dtype()], device="meta")
    return out


_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}


def _fill(ckpt: RawCheckpoint, obj: Any) -> None:
    """Unwrap containers and wrapper prefixes of `obj` into `ckpt.tensors` / `ckpt.notes`."""
    found = unwrap(obj, ckpt.path, lambda v: isinstance(v, torch.Tensor))
    ckpt.tensors, ckpt.notes, ckpt.non_tensor_entries = (
        found.tensors,
        ckpt.notes + found.notes,
        found.non_tensor_entries,
    )


def _unpickler_reason(e: BaseException) -> str:
    """The unpickler's own reason, without torch's advice to retry with weights_only=False."""
    text = str(e)
    marker = "WeightsUnpickler error:"
    if marker in text:
        reason = text.split(marker, 1)[1].split("Check the documentation", 1)[0]
        if reason := " ".join(reason.split()):
            return reason[:300]
    return _first_line(e)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else "no details"

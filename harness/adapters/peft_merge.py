"""A PEFT adapter directory (peft's own format, e.g. a `harness tune` LoRA-LLM export) merged into a loaded VLM's
weights before any encoder swap, for every family whose `adapter.model` is the transformers model. The checks on
the directory are torch-free (the plan runs them before a model loads); the fit and the merge need the model."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.adapters.weights import sha256_file
from harness.errors import InputNotFound, InvalidInput, one_line

if TYPE_CHECKING:
    from torch import nn

    from harness.adapters.base import VLMAdapter

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
PICKLED_WEIGHTS = "adapter_model.bin"
RECORD = "harness_peft.json"  # what `harness tune` writes beside its export: vlm, weights_sha256, method, session
PREFIX = "base_model.model."
# a LoRA tensor: <module path>.<part>[.weight]; the part decides the shape the module needs
LORA_PARTS = "lora_A|lora_B|lora_embedding_A|lora_embedding_B|lora_magnitude_vector"
LORA_KEY = re.compile(rf"^(?P<module>.+)\.(?P<part>{LORA_PARTS})")
# MiniGPT-v2's Llama is already a PeftModel holding the release's LoRA
NO_PEFT = {"minigptv2": "MiniGPT-v2's Llama already carries the release's own LoRA (--minigptv2-ckpt)"}


class PeftAdapterError(InvalidInput):
    """A PEFT adapter directory that is malformed, or that was made for another base model."""


def check_peft_dir(path: str | Path, vlm: str, option: str = "--peft") -> dict[str, Any]:
    """The adapter's config after checking the directory (config, safetensors weights, `harness_peft.json`'s family)
    without torch; raises naming `option` and the file."""
    from harness.adapters.registry import VLMS  # torch-free

    p = Path(path).expanduser()
    if vlm in NO_PEFT:
        raise PeftAdapterError(f"{option} {path}: not for --vlm {vlm}: {NO_PEFT[vlm]}; merge a second adapter yourself")
    if vlm not in VLMS:
        raise PeftAdapterError(f"{option} {path}: a PEFT adapter merges into a VLM's weights; --vlm {vlm} has none")
    if not p.exists():
        raise InputNotFound(f"{option} {path}: no such directory")
    if not p.is_dir():
        raise PeftAdapterError(f"{option} {path}: a file; expected a directory of {ADAPTER_CONFIG} + {ADAPTER_WEIGHTS}")
    if not (p / ADAPTER_CONFIG).is_file():
        raise InputNotFound(
            f"{option} {path}: no {ADAPTER_CONFIG}; expected a PEFT adapter directory as PeftModel.save_pretrained "
            f"writes it ({ADAPTER_CONFIG} + {ADAPTER_WEIGHTS})"
        )
    config = _json_object(p / ADAPTER_CONFIG, option)
    if not isinstance(config.get("peft_type"), str):
        raise PeftAdapterError(f"{option} {p / ADAPTER_CONFIG}: no peft_type; not a PEFT adapter config")
    if not (p / ADAPTER_WEIGHTS).is_file():
        if (p / PICKLED_WEIGHTS).is_file():
            raise PeftAdapterError(
                f"{option} {path}: holds {PICKLED_WEIGHTS} (a pickle, which can run code when loaded); only "
                f"{ADAPTER_WEIGHTS} is read: save it with save_pretrained(dir, safe_serialization=True)"
            )
        raise InputNotFound(f"{option} {path}: no {ADAPTER_WEIGHTS}")
    tensor_shapes(p / ADAPTER_WEIGHTS, option)
    record = peft_record(p, option)
    if "vlm" in record and record["vlm"] != vlm:
        raise PeftAdapterError(f"{option} {path}: an adapter for --vlm {record['vlm']} ({RECORD}), not --vlm {vlm}")
    return config


def peft_record(path: str | Path, option: str = "--peft") -> dict[str, Any]:
    """`harness_peft.json` of the directory ({} when there is none)."""
    f = Path(path).expanduser() / RECORD
    return _json_object(f, option) if f.is_file() else {}


def peft_files(path: str | Path) -> dict[str, str]:
    """sha256 of each file that decides what the merged model computes (the config and the weights)."""
    p = Path(path).expanduser()
    return {name: sha256_file(p / name) for name in (ADAPTER_CONFIG, ADAPTER_WEIGHTS)}


def peft_sha256(path: str | Path) -> str:
    """One sha256 for the adapter: over its files' names and sha256s."""
    return hashlib.sha256("".join(f"{k}\0{v}\n" for k, v in sorted(peft_files(path).items())).encode()).hexdigest()


def tensor_shapes(path: Path, option: str = "--peft") -> dict[str, list[int]]:
    """Tensor name → shape from a safetensors header (torch-free)."""
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size <= path.stat().st_size - 8:
                raise ValueError("bad header length")
            header = json.loads(f.read(size))
        return {k: list(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise PeftAdapterError(f"{option} {path}: not a readable safetensors file ({e})") from e


def merge_peft(
    adapter: VLMAdapter, path: str | Path, weights_sha256: dict[str, str] | None, option: str = "--peft"
) -> dict[str, Any]:
    """Load the adapter onto `adapter.model` and merge it into the weights (peft's `merge_and_unload`); afterwards the
    model is the plain transformers model again. Refuses an adapter for another base model (family, weights, a
    module it names that the model lacks, a shape that does not fit) before the model is touched. Returns the record
    for results.json."""
    import warnings

    from peft import PeftModel

    p = Path(path).expanduser()
    config = check_peft_dir(p, adapter.family, option)
    record = peft_record(p, option)
    theirs = record.get("weights_sha256")
    if theirs and weights_sha256 and theirs != weights_sha256:
        raise PeftAdapterError(f"{option} {path}: made for other weights ({_weights_diff(theirs, weights_sha256)})")
    model = adapter.model
    merged = check_fits(model, tensor_shapes(p / ADAPTER_WEIGHTS, option), f"{option} {path}")
    grads = {n: w.requires_grad for n, w in model.named_parameters()}
    try:
        with warnings.catch_warnings():  # a mismatch is an error below; peft's own warnings add nothing
            warnings.simplefilter("ignore")
            wrapped = PeftModel.from_pretrained(model, str(p), strict_adapter_check="error")
            plain = wrapped.merge_and_unload()
    except (RuntimeError, ValueError, KeyError) as e:  # what peft itself refuses: a config that does not fit
        raise PeftAdapterError(f"{option} {path}: does not fit this model: {one_line(e)[:400]}") from e
    for n, w in plain.named_parameters():
        w.requires_grad_(grads.get(n, w.requires_grad))
    adapter.model = plain.eval()
    tower = _prefix_of(plain, adapter.vision_tower)
    return {
        "path": str(path),
        "sha256": peft_sha256(p),
        "files": peft_files(p),
        "peft_type": config.get("peft_type"),
        **{k: config[k] for k in ("r", "lora_alpha", "target_modules", "layers_to_transform") if k in config},
        "modules_merged": len(merged),
        # a tower module the adapter changed is overwritten by an encoder swap that follows
        "tower_modules_merged": sum(m.startswith(tower) for m in merged) if tower is not None else None,
        "record": record,
    }


def check_fits(model: nn.Module, shapes: dict[str, list[int]], where: str) -> list[str]:
    """The modules the adapter's LoRA tensors name, after checking that each exists in `model` and that each tensor's
    shape fits it; raises naming the first offending key and the shapes."""
    modules = dict(model.named_modules())
    found: list[str] = []
    ranks: dict[str, int] = {}
    for key, shape in shapes.items():
        m = LORA_KEY.match(key.removeprefix(PREFIX))
        if m is None:
            continue
        name, part = m.group("module"), m.group("part")
        module = modules.get(name)
        if module is None:
            raise PeftAdapterError(
                f"{where}: {key} is for module {name}, which this model does not have (an adapter for another model?)"
            )
        expected = _expected_shape(module, part, shape)
        if expected is not None and list(shape) != expected:
            raise PeftAdapterError(
                f"{where}: {key} has shape {shape}, but this model's {name} ({type(module).__name__} "
                f"{_geometry(module)}) needs {expected} (an adapter for a model of another width?)"
            )
        rank = shape[0] if part in ("lora_A", "lora_embedding_A") else shape[-1] if len(shape) == 2 else None
        if rank is not None and part != "lora_magnitude_vector":
            if ranks.setdefault(name, rank) != rank:
                raise PeftAdapterError(f"{where}: {key} has rank {rank}, its module's other LoRA tensor {ranks[name]}")
        if name not in found:
            found.append(name)
    if not found:
        raise PeftAdapterError(f"{where}: {ADAPTER_WEIGHTS} holds no LoRA tensor (lora_A/lora_B) to merge")
    return found


def _expected_shape(module: nn.Module, part: str, shape: list[int]) -> list[int] | None:
    """The shape `part` must have on this module, or None where this check cannot tell (peft checks those)."""
    inputs_outputs = _in_out(module)
    if inputs_outputs is None or len(shape) not in (1, 2):
        return None
    n_in, n_out = inputs_outputs
    return {
        "lora_A": [shape[0], n_in],
        "lora_B": [n_out, shape[-1]],
        "lora_embedding_A": [shape[0], n_in],
        "lora_embedding_B": [n_out, shape[-1]],
        "lora_magnitude_vector": [n_out],
    }[part]


def _in_out(module: nn.Module) -> tuple[int, int] | None:
    """(inputs, outputs) of a Linear, an Embedding (vocabulary, width) or GPT-2's Conv1D (weight [in, out])."""
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return int(module.in_features), int(module.out_features)
    if hasattr(module, "num_embeddings") and hasattr(module, "embedding_dim"):
        return int(module.num_embeddings), int(module.embedding_dim)
    weight = getattr(module, "weight", None)
    if type(module).__name__ == "Conv1D" and weight is not None and weight.dim() == 2:
        return int(weight.shape[0]), int(weight.shape[1])
    return None


def _geometry(module: nn.Module) -> str:
    io = _in_out(module)
    return f"{io[0]} -> {io[1]}" if io else "?"


def _prefix_of(model: nn.Module, sub: nn.Module) -> str | None:
    """`sub`'s module path inside `model` plus a dot (None when it is not inside)."""
    return next((f"{name}." for name, m in model.named_modules() if m is sub), None)


def _weights_diff(theirs: Any, ours: dict[str, str]) -> str:
    """Which weight file's sha256 differs between `harness_peft.json` and the loaded model."""
    if not isinstance(theirs, dict):
        return f"{RECORD} weights_sha256 {str(theirs)[:16]}, the loaded model's {ours}"
    for name in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(name), ours.get(name)
        if a != b:
            return f"{RECORD} weights_sha256 {name}: {str(a)[:12]}..., the loaded model's: {str(b)[:12]}..."
    return "?"


def _json_object(path: Path, option: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise PeftAdapterError(f"{option} {path}: not valid JSON ({one_line(e)})") from e
    if not isinstance(data, dict):
        raise PeftAdapterError(f"{option} {path}: expected a JSON object, got {type(data).__name__}")
    return data

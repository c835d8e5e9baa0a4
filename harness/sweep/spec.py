"""The sweep file (TOML): read and check it completely before anything loads. Torch-free.

    out = "results/grid"                # cells go to OUT/<vlm label>/<encoder label>
    [eval]                              # any `harness eval` option by its long name, `_` for `-`
    tasks = ["toy_control", "toy_target"]
    limit = 200
    [[vlm]]                             # label (default: the family), family, model, family options,
    family = "llava"                    # peft (a PEFT adapter directory merged into its weights; the label
    model = "llava-hf/llava-1.5-7b-hf"  # then defaults to <family>-<adapter label>)
    [[vlm]]                             # peft may be a glob: one VLM per adapter directory (one load each);
    model = "llava-hf/llava-1.5-7b-hf"  # encoders: the [[encoder]] labels it is crossed with (default all);
    peft = "tune/lora-llm/session-*/peft"  # base: report its cells under that [[vlm]] (beside its zero-shot
    encoders = ["zero-shot"]            # row, labelled by the adapter), as one model's sessions
    base = "llava"
    [[encoder]]                         # label, path (none: the original tower; a glob: one per file,
    label = "zero-shot"                 # labelled by its stem) and free metadata shown as table columns
    [[encoder]]
    path = "ckpts/lorsu/*.pt"
    method = "LoRSU"
    [plot]                              # optional: the trade-off plot's target and control tasks
    target = "toy_target"
    controls = ["toy_control"]

Relative paths are relative to the file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.adapters.registry import VLMS
from harness.errors import InputNotFound, InvalidInput
from harness.eval.config import EvalConfig
from harness.eval.encoder_meta import export_metadata, metadata_columns, peft_label, peft_metadata
from harness.eval.encoders import ZERO_SHOT, check_unique, expand_encoders
from harness.sweep.links import peft_dirs, vlm_links

PER_CELL = {"vlm", "model", "encoder", "out", "label", "minigptv2_ckpt", "eva_ckpt", "peft", "encoder_meta"}
EVAL_KEYS = sorted({f.name for f in fields(EvalConfig)} - PER_CELL)
VLM_KEYS = ("label", "family", "model", "minigptv2_ckpt", "eva_ckpt", "peft", "encoders", "base")
TOP_KEYS = ("out", "eval", "vlm", "encoder", "plot")
PLOT_KEYS = ("target", "controls")
EVAL_TYPES: dict[str, tuple[type, ...]] = {
    "tasks": (list, str),
    "data": (dict, list),
    "limit": (int,),
    "batch_size": (int, str),
    "seed": (int,),
    "max_errors": (int,),
    "max_new_tokens": (int,),
    "allow_partial": (bool,),
    "interpolate_pos": (bool,),
    "overwrite": (bool,),
}


@dataclass
class VlmEntry:
    label: str
    family: str
    model: str | None
    options: dict[str, str] = field(default_factory=dict)  # minigptv2_ckpt, eva_ckpt, peft
    encoders: list[str] | None = None  # the [[encoder]] labels crossed with it (None: all)
    base: str | None = None  # the [[vlm]] label its cells are reported under (a PEFT adapter of that model)
    tag: str = ""  # with a base: the label of its rows there (the adapter's)
    meta: dict[str, str] = field(default_factory=dict)  # what its PEFT adapter export says (method, session, ...)


@dataclass
class EncoderEntry:
    label: str
    path: str | None  # None: the VLM's original tower
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class SweepSpec:
    path: Path
    out: Path
    eval: dict[str, Any]
    vlms: list[VlmEntry]
    encoders: list[EncoderEntry]
    plot_target: str | None = None
    plot_controls: list[str] = field(default_factory=list)

    @property
    def meta_columns(self) -> list[str]:
        return list(dict.fromkeys(k for x in [*self.vlms, *self.encoders] for k in x.meta))


def read_spec(path: str | Path) -> SweepSpec:
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"sweep file {path}: no such file")
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidInput(f"sweep file {path}: not valid TOML ({e})") from e
    where = path.parent
    _known(doc, TOP_KEYS, f"{path}: top-level key")
    if not isinstance(doc.get("out"), str):
        raise InvalidInput(f"{path}: `out` (the sweep's output folder, a string) is required")
    ev = _eval_options(doc.get("eval", {}), where, path)
    vlms = [v for i, raw in enumerate(_tables(doc, "vlm", path)) for v in _vlms(raw, i, where, path)]
    check_unique([v.label for v in vlms], [v.options.get("peft", v.label) for v in vlms], f"{path}: [[vlm]] label")
    encoders = [e for i, raw in enumerate(_tables(doc, "encoder", path)) for e in _encoders(raw, i, where, path)]
    check_unique([e.label for e in encoders], [str(e.path or ZERO_SHOT) for e in encoders], f"{path}: [[encoder]]")
    check_links(vlms, [e.label for e in encoders], path)
    plot = doc.get("plot", {})
    _known(plot, PLOT_KEYS, f"{path}: [plot] key")
    controls = plot.get("controls", [])
    return SweepSpec(path, _path(doc["out"], where), ev, vlms, encoders, plot.get("target"), list(controls))


def _known(table: Any, keys: tuple[str, ...] | list[str], what: str) -> None:
    if not isinstance(table, dict):
        raise InvalidInput(f"{what}s: expected a table, got {table!r}")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise InvalidInput(f"{what} {unknown[0]!r} is unknown (known: {', '.join(keys)})")


def _tables(doc: dict, key: str, path: Path) -> list[dict]:
    value = doc.get(key)
    if not value or not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(f"{path}: give at least one [[{key}]] table")
    return value


def _path(text: str, where: Path) -> Path:
    p = Path(text).expanduser()
    return p if p.is_absolute() else where / p


def _existing(text: Any, where: Path, what: str) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"{what}: expected a path string, got {text!r}")
    p = _path(text, where)
    if not p.exists():
        raise InputNotFound(f"{what} {text}: no such file or directory ({p})")
    return str(p)


def _eval_options(ev: Any, where: Path, path: Path) -> dict[str, Any]:
    _known(ev, [*EVAL_KEYS, "quiet"], f"{path}: [eval] key")
    for key, types in EVAL_TYPES.items():
        if key in ev and (not isinstance(ev[key], types) or (bool not in types and isinstance(ev[key], bool))):
            raise InvalidInput(f"{path}: [eval] {key} = {ev[key]!r}: expected {' or '.join(t.__name__ for t in types)}")
    out = dict(ev)
    if "tasks" not in out:
        raise InvalidInput(f'{path}: [eval] tasks is required (e.g. tasks = ["vsr", "tsi"])')
    tasks = out["tasks"].split(",") if isinstance(out["tasks"], str) else out["tasks"]
    out["tasks"] = [_task_spec(t.strip(), where, path) for t in tasks if t.strip()]
    data = out.get("data", {})
    pairs = data.items() if isinstance(data, dict) else (str(d).partition("=")[::2] for d in data)
    out["data"] = {k: _existing(v, where, f"{path}: [eval] data.{k}") for k, v in pairs}
    for key in ("data_root", "choices"):
        if key in out:
            out[key] = _existing(out[key], where, f"{path}: [eval] {key}")
    return out


def _task_spec(spec: str, where: Path, path: Path) -> str:
    name, sep, file = spec.partition("=")
    return f"{name}={_existing(file, where, f'{path}: [eval] tasks {name}=')}" if sep else spec


def _vlms(raw: dict, i: int, where: Path, path: Path) -> list[VlmEntry]:
    """One entry, or one per adapter directory when `peft` is a glob."""
    what = f"{path}: [[vlm]] #{i + 1}"
    _known(raw, VLM_KEYS, f"{what} key")
    family = raw.get("family", "llava")
    if family not in VLMS:
        raise InvalidInput(f"{what} family {family!r} is unknown (known: {', '.join(VLMS)})")
    model = raw.get("model")
    if isinstance(model, str) and (_path(model, where).exists() or model.startswith((".", "/", "~"))):
        model = _existing(model, where, f"{what} model")
    options = {k: _existing(raw[k], where, f"{what} {k}") for k in ("minigptv2_ckpt", "eva_ckpt") if k in raw}
    links = vlm_links(raw, what)
    if "peft" not in raw:
        return [VlmEntry(str(raw.get("label", family)), family, model, options, *links)]
    adapters = peft_dirs(raw["peft"], where, f"{what} peft")
    if len(adapters) > 1 and "label" in raw:
        raise InvalidInput(f"{what}: label {raw['label']!r} with a glob peft (each adapter is labelled by itself)")
    return [
        VlmEntry(
            str(raw.get("label", f"{family}-{peft_label(d)}")),
            family,
            model,
            {**options, "peft": d},
            *links,
            tag=str(raw.get("label", peft_label(d))),
            meta=metadata_columns(peft_metadata(d)),
        )
        for d in adapters
    ]


def check_links(vlms: list[VlmEntry], encoders: list[str], path: Path) -> None:
    """Each `encoders` label names an [[encoder]]; each `base` a [[vlm]] without an adapter, of the same model."""
    plain = {v.label: v for v in vlms if "peft" not in v.options}
    for v in vlms:
        unknown = [e for e in v.encoders or [] if e not in encoders]
        if unknown:
            raise InvalidInput(
                f"{path}: [[vlm]] {v.label} encoders: {unknown[0]!r} is no [[encoder]] label ({', '.join(encoders)})"
            )
        b = plain.get(v.base) if v.base else None
        if v.base and (b is None or (b.family, b.model) != (v.family, v.model)):
            raise InvalidInput(
                f"{path}: [[vlm]] {v.label} base {v.base!r}: expected the label of a [[vlm]] without peft, of the "
                f"same family and model (such labels: {', '.join(plain) or 'none'})"
            )


def _encoders(raw: dict, i: int, where: Path, path: Path) -> list[EncoderEntry]:
    what = f"{path}: [[encoder]] #{i + 1}"
    meta = {k: str(v) for k, v in raw.items() if k not in ("label", "path")}
    bad = [k for k, v in raw.items() if k not in ("label", "path") and isinstance(v, dict | list)]
    if bad:
        raise InvalidInput(f"{what} {bad[0]}: metadata must be a string or number")
    if "path" not in raw:
        return [EncoderEntry(str(raw.get("label", ZERO_SHOT)), None, meta)]
    if not isinstance(raw["path"], str):
        raise InvalidInput(f"{what} path: expected a string, got {raw['path']!r}")
    pattern = str(_path(raw["path"], where))
    found = expand_encoders([pattern], option=f"{what} path")
    if len(found) > 1 and "label" in raw:
        raise InvalidInput(f"{what}: label {raw['label']!r} with a glob path (each file is labelled by its stem)")
    if len(found) == 1 and not Path(found[0][1] or "").exists():
        raise InputNotFound(f"{what} path {raw['path']}: no such file or directory ({pattern})")
    # a tune export's own metadata (session, method, seed, ...) first; the spec's keys win
    return [
        EncoderEntry(str(raw.get("label", label)), p, {**metadata_columns(export_metadata(p)), **meta})
        for label, p in found
    ]

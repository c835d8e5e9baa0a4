"""The bad-input tests' world: good inputs and bad ones (data files, model dirs, run dirs, PEFT dirs) in one folder."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.tasks.toy_shapes import write_mcq_set
from harness.toy.build import MODELS_DIR
from tests.harness.report.fixtures import mc_samples, pattern, write_run


@dataclass(frozen=True)
class W:
    """The fixture world: good inputs and bad ones, all in one folder."""

    root: Path

    def __truediv__(self, name: str) -> Path:
        return self.root / name


def build_world(root: Path) -> W:
    w = W(root)
    good = write_mcq_set(root / "good", 4, seed=1)
    (root / "empty.jsonl").write_text("")
    line = good.read_text().splitlines()[0]
    (root / "truncated.jsonl").write_text(line[: len(line) // 2])
    lines = good.read_text().splitlines()  # a file cut mid-JSON on its last line, its images beside it
    (root / "good" / "cut.jsonl").write_text("\n".join(lines[:-1] + [lines[-1][: len(lines[-1]) // 2]]))
    (root / "sweep_bad.toml").write_text(
        f'out = "{root / "out_sweep"}"\n[eval]\ntasks = ["toy_control"]\nbatch_size = "lots"\n'
        f'[[vlm]]\nfamily = "llava"\nmodel = "{MODELS_DIR / "llava"}"\n[[encoder]]\nlabel = "zero-shot"\n'
    )
    (root / "list.jsonl").write_text("[1, 2]\n")
    (root / "binary.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    rows = [json.loads(x) for x in good.read_text().splitlines()]
    rows[2]["image"] = "images/missing.png"
    (root / "good" / "noimage.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = write_run(root, "run", {"tsi": mc_samples("tsi", pattern(10, 6))}, label="zs")
    shutil.copytree(run, root / "run_b")
    for name, text in (("empty", ""), ("truncated", '{"tasks": {"ts'), ("list", "[]"), ("null", "null")):
        d = root / f"run_{name}"
        d.mkdir()
        (d / "results.json").write_text(text)
    (root / "base_list.json").write_text("[]")
    (root / "base_null.json").write_text("null")
    (root / "base_truncated.json").write_text('{"format": "harness-baseline", "format_ver')
    (root / "base_binary.json").write_bytes(b"\x00\xff\xfe\x89")
    (root / "base_badtask.json").write_text(
        json.dumps({"format": "harness-baseline", "format_version": 1, "tasks": {"tsi": []}})
    )
    for family in ("clip", "llava"):
        (root / f"noweights_{family}").mkdir()
        shutil.copy(MODELS_DIR / family / "config.json", root / f"noweights_{family}" / "config.json")
    (root / "novideos").mkdir()
    (root / "a_file").write_text("x")
    _peft_dirs(root)
    return w


def _peft_dirs(root: Path) -> None:
    """PEFT adapter directories that are refused before the model loads (the weights: a valid safetensors file)."""
    header = json.dumps({"x.lora_A.weight": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}}).encode()
    weights = len(header).to_bytes(8, "little") + header + bytes(4)
    config = json.dumps({"peft_type": "LORA", "r": 1, "target_modules": ["x"]})
    for name, files in (
        ("peft_noconfig", {"adapter_model.safetensors": weights}),
        ("peft_bin", {"adapter_config.json": config, "adapter_model.bin": b"pickle"}),
        ("peft_blip2", {"adapter_config.json": config, "adapter_model.safetensors": weights,
                        "harness_peft.json": json.dumps({"vlm": "blip2"})}),
    ):  # fmt: skip
        (root / name).mkdir()
        for file, data in files.items():
            (root / name / file).write_bytes(data if isinstance(data, bytes) else data.encode())

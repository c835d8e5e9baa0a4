"""A `harness tune` session export labels itself: session, method, task, seed and the session's classes from its
tune.json / session.json (or the session from the file name alone); globs over several methods' exports get
distinct labels; a sweep line over them carries that metadata into its table columns and run records."""

from __future__ import annotations

import json
from pathlib import Path

from harness.eval.encoder_meta import export_label, export_metadata, metadata_columns
from harness.eval.encoders import expand_encoders


def fake_export(root: Path, method: str, sessions: int = 3) -> list[Path]:
    """The files `harness tune --protocol continual` writes, with empty checkpoints (only names are read here)."""
    out = root / method
    plan = [{"session": s, "classes": [s], "images": 4} for s in range(1, sessions + 1)]
    out.mkdir(parents=True)
    (out / "tune.json").write_text(json.dumps({"method": method, "task": "gts", "seed": 3, "protocol": "continual",
                                               "plan": plan}))  # fmt: skip
    ckpts = []
    for s in range(1, sessions + 1):
        sdir = out / f"session-{s}"
        (sdir / "vision_hf").mkdir(parents=True)
        (sdir / "session.json").write_text(json.dumps({"session": s, "class_names": [f"class {s}a", f"class {s}b"]}))
        ckpt = sdir / f"checkpoint_session-{s}_epoch-10.pt"
        ckpt.write_bytes(b"x")
        ckpts.append(ckpt)
    return ckpts


def test_an_export_says_what_it_is(tmp_path):
    ckpt = fake_export(tmp_path, "lorsu")[1]
    meta = export_metadata(ckpt)
    assert meta == {"session": 2, "session_classes": ["class 2a", "class 2b"], "method": "lorsu", "task": "gts",
                    "seed": 3, "protocol": "continual", "sessions": 3}  # fmt: skip
    assert export_metadata(ckpt.parent / "vision_hf") == meta  # the HF form of the same session
    assert metadata_columns(meta) == {"session": "2", "method": "lorsu", "task": "gts", "seed": "3",
                                      "protocol": "continual", "sessions": "3"}  # fmt: skip
    assert export_label(str(ckpt)) == "lorsu-session-2"


def test_a_bare_file_names_only_its_session(tmp_path):
    (tmp_path / "enc_session_4.pt").write_bytes(b"x")
    assert export_metadata(tmp_path / "enc_session_4.pt") == {"session": 4}
    (tmp_path / "plain.pt").write_bytes(b"x")
    assert export_metadata(tmp_path / "plain.pt") == {} and export_label(str(tmp_path / "plain.pt")) == "plain"
    assert export_metadata(None) == {}


def test_globs_over_two_methods_get_distinct_labels(tmp_path):
    fake_export(tmp_path, "lorsu")
    fake_export(tmp_path, "lora")
    found = expand_encoders([str(tmp_path / "lorsu/session-*/*.pt"), str(tmp_path / "lora/session-*/*.pt")])
    assert [label for label, _ in found] == [f"{m}-session-{s}" for m in ("lorsu", "lora") for s in (1, 2, 3)]


def test_a_sweep_line_carries_the_sessions(tmp_path, tiny_llava_dir):
    from harness.sweep.grid import cells
    from harness.sweep.spec import read_spec

    fake_export(tmp_path, "lorsu")
    spec = tmp_path / "cl.toml"
    spec.write_text(
        f'out = "grid"\n[eval]\ntasks = ["toy_target"]\n[[vlm]]\nmodel = "{tiny_llava_dir}"\n'
        '[[encoder]]\nlabel = "zero-shot"\n[[encoder]]\npath = "lorsu/session-*/*.pt"\nmethod = "LoRSU"\norder = 2\n'
    )
    grid = cells(read_spec(spec))
    metas = [c.cfg.encoder_meta for c in grid[1:]]
    assert [m["session"] for m in metas] == ["1", "2", "3"]
    assert all(m["method"] == "LoRSU" and m["order"] == "2" and m["task"] == "gts" for m in metas)  # the spec wins
    assert [c.encoder.label for c in grid[1:]] == ["lorsu-session-1", "lorsu-session-2", "lorsu-session-3"]

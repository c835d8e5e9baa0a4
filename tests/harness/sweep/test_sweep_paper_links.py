"""A [[vlm]] table's links: `peft` as a glob (one VLM per adapter directory, in session order, labelled by the
adapter), `encoders` (the [[encoder]] labels it is crossed with) and `base` (the [[vlm]] its cells are reported
under); each mistake is one line naming the table and the key. Torch-free: no model, only the spec and the grid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import InputNotFound, InvalidInput
from harness.sweep.grid import cells
from harness.sweep.spec import read_spec

HEAD = 'out = "grid"\n[eval]\ntasks = ["gts"]\n[[vlm]]\nlabel = "llava"\nmodel = "m"\n'
ENCODERS = '[[encoder]]\nlabel = "zero-shot"\n[[encoder]]\npath = "enc/*.safetensors"\n'


def _adapters(root: Path, sessions: tuple[int, ...] = (1, 2, 10)) -> None:
    (root / "tune" / "lora-llm").mkdir(parents=True)
    (root / "tune" / "lora-llm" / "tune.json").write_text(json.dumps({"method": "lora-llm", "seed": 3}))
    for s in sessions:
        d = root / "tune" / "lora-llm" / f"session-{s}" / "peft"
        d.mkdir(parents=True)
        (d / "harness_peft.json").write_text(json.dumps({"vlm": "llava", "method": "lora-llm", "session": s}))
    (root / "enc").mkdir()
    for name in ("a", "b"):
        (root / "enc" / f"{name}.safetensors").write_bytes(b"")


def _spec(root: Path, vlm: str) -> Path:
    (root / "sweep.toml").write_text(HEAD + "[[vlm]]\n" + vlm + ENCODERS)
    return root / "sweep.toml"


def test_a_peft_glob_is_one_vlm_per_session_crossed_with_its_encoders_only(tmp_path):
    _adapters(tmp_path)
    vlm = 'model = "m"\npeft = "tune/lora-llm/session-*/peft"\nencoders = ["zero-shot"]\nbase = "llava"\n'
    spec = read_spec(_spec(tmp_path, vlm))
    adapters = spec.vlms[1:]
    assert [v.label for v in adapters] == [f"llava-lora-llm-session-{s}" for s in (1, 2, 10)]  # 2 before 10
    assert [v.tag for v in adapters] == [f"lora-llm-session-{s}" for s in (1, 2, 10)]
    assert [v.options["peft"] for v in adapters] == [
        str(tmp_path / f"tune/lora-llm/session-{s}/peft") for s in (1, 2, 10)
    ]
    assert adapters[2].meta == {"method": "lora-llm", "session": "10", "seed": "3"}
    assert all(v.base == "llava" for v in adapters) and spec.vlms[0].base is None
    assert [c.name for c in cells(spec)] == [
        "llava/zero-shot",
        "llava/a",
        "llava/b",
        *(f"llava-lora-llm-session-{s}/zero-shot" for s in (1, 2, 10)),
    ]
    assert [c.cfg.peft for c in cells(spec)][3:] == [v.options["peft"] for v in adapters]
    assert {"method", "session", "seed"} <= set(spec.meta_columns)


def test_without_encoders_an_adapter_is_crossed_with_every_encoder(tmp_path):
    _adapters(tmp_path, (1,))
    spec = read_spec(_spec(tmp_path, 'model = "m"\npeft = "tune/lora-llm/session-1/peft"\n'))
    assert [c.name for c in cells(spec)][3:] == [f"llava-lora-llm-session-1/{e}" for e in ("zero-shot", "a", "b")]


@pytest.mark.parametrize(
    ("vlm", "error", "named"),
    [
        ('peft = "tune/none-*/peft"\n', InputNotFound, "[[vlm]] #2 peft tune/none-*/peft: the pattern matches no"),
        ('peft = "tune/lora-llm/session-*/peft"\nlabel = "x"\n', InvalidInput, "label 'x' with a glob peft"),
        ('peft = "tune/lora-llm/session-1/peft"\nencoders = ["c"]\n', InvalidInput, "encoders: 'c' is no [[encoder]]"),
        ('peft = "tune/lora-llm/session-1/peft"\nencoders = "zero-shot"\n', InvalidInput, "encoders: expected a list"),
        ('encoders = ["a"]\nbase = "llava"\n', InvalidInput, "only a [[vlm]] with a peft adapter"),
        ('peft = "tune/lora-llm/session-1/peft"\nbase = "nope"\n', InvalidInput, "base 'nope': expected the label"),
        ('peft = "tune/lora-llm/session-1/peft"\nbase = 3\n', InvalidInput, "base: expected the label"),
    ],
)
def test_a_bad_link_is_one_line_naming_the_table_and_key(tmp_path, vlm, error, named):
    _adapters(tmp_path, (1, 2))
    with pytest.raises(error) as e:
        read_spec(_spec(tmp_path, 'model = "m"\n' + vlm))
    assert named in str(e.value) and "\n" not in str(e.value)


def test_a_base_of_another_model_is_refused(tmp_path):
    _adapters(tmp_path, (1,))
    with pytest.raises(
        InvalidInput, match="base 'llava': expected the label of a \\[\\[vlm\\]\\] without peft, of the same"
    ):
        read_spec(_spec(tmp_path, 'model = "other"\npeft = "tune/lora-llm/session-1/peft"\nbase = "llava"\n'))

"""`harness eval` refuses bad data, encoder, --choices and --out before any model is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.eval import vlm
from harness.eval.records import RunDirMismatch
from harness.eval.runner import EvalConfig, run_eval
from tests.harness.tasks.fixtures import build_gtsrb_kaggle, build_vsr

ROOT = Path(__file__).resolve().parents[3]


class Loaded(AssertionError):
    pass


@pytest.fixture
def no_loading(monkeypatch):
    """Any attempt to load a VLM or a CLIP fails the test."""

    def refuse(*args, **kwargs):
        raise Loaded("a model was loaded")

    monkeypatch.setattr(vlm, "load_vlm", refuse)
    monkeypatch.setattr("harness.clip.evaluate.load_clip", refuse)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    build_vsr(root / "vsr")
    build_gtsrb_kaggle(root / "gtsrb")
    return root


def _cfg(root, **kw) -> EvalConfig:
    return EvalConfig(tasks=kw.pop("tasks", ["vsr"]), model="llava-hf/llava-1.5-7b-hf", data_root=str(root), **kw)


def test_missing_data_root(no_loading, tmp_path):
    with pytest.raises(FileNotFoundError, match="--data-root .*no-such"):
        run_eval(_cfg(tmp_path / "no-such"))


def test_task_data_missing_under_an_existing_root(no_loading, tmp_path):
    with pytest.raises(FileNotFoundError, match="vizwiz"):
        run_eval(_cfg(tmp_path, tasks=["vizwiz"]))


def test_missing_encoder(no_loading, root, tmp_path):
    with pytest.raises(FileNotFoundError, match="encoder checkpoint not found"):
        run_eval(_cfg(root, encoder=str(tmp_path / "nope.pt")))


def test_unknown_encoder_format(no_loading, root, tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"some.weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="no known checkpoint layout .*some.weight"):
        run_eval(_cfg(root, encoder=str(path)))
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        run_eval(_cfg(root, encoder=str(tmp_path / "empty.pt")))


def test_invalid_choices_file(no_loading, root, tmp_path):
    bad = tmp_path / "choices.jsonl"
    bad.write_text("{not json\n")
    with pytest.raises(ValueError, match="choices.jsonl"):
        run_eval(_cfg(root, tasks=["gts"], choices=str(bad)))


def test_out_holding_another_run(no_loading, root, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"vlm": "llava", "prompt_style": "text"}))
    with pytest.raises(RunDirMismatch, match="prompt_style"):
        run_eval(_cfg(root, out=str(out)))
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]


def test_cli_says_it_in_one_line(no_loading, tmp_path):
    res = CliRunner().invoke(app, ["eval", "--tasks", "vsr", "--data-root", str(tmp_path / "none")])
    assert res.exit_code == 2 and "--data-root" in res.output and "Traceback" not in res.output


def _bad_encoders(tmp_path) -> dict[str, Path]:
    import torch
    from safetensors.torch import save_file

    save_file({"some.weight": torch.zeros(2)}, tmp_path / "odd.safetensors")
    torch.save({"epoch": 1, "state_dict": {"module.fc.weight": torch.zeros(2)}}, tmp_path / "odd.pt")
    (tmp_path / "empty.pt").write_bytes(b"")
    return {
        "missing": tmp_path / "nope.pt",
        "unknown layout (safetensors)": tmp_path / "odd.safetensors",
        "unknown layout (torch.save)": tmp_path / "odd.pt",
        "empty": tmp_path / "empty.pt",
    }


BAD = {
    "data": lambda w: ["--tasks", "vsr", "--data-root", str(w / "nothing")],
    "batch size": lambda w: ["--tasks", "toy_control", "--batch-size", "lots"],
    "device": lambda w: ["--tasks", "toy_control", "--device", "nosuchdevice"],
    **{
        f"encoder {kind}": lambda w, kind=kind: ["--tasks", "toy_control", "--encoder", str(_bad_encoders(w)[kind])]
        for kind in ("missing", "unknown layout (safetensors)", "unknown layout (torch.save)", "empty")
    },
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_reported_without_importing_torch(tmp_path, case):
    """Importing torch alone takes ~2 s on 2 cores: bad data, options and encoder files are reported before
    anything imports it (benchmarks/bench_cli_start.py measures the time)."""
    (tmp_path / "nothing").mkdir()
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from harness.cli import app\n"
        f"res = CliRunner().invoke(app, ['eval', *{BAD[case](tmp_path)!r}])\n"
        "assert res.exit_code == 2 and res.output.startswith('error: '), res.output\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

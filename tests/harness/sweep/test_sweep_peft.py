"""`peft = "DIR"` in a sweep's `[[vlm]]` table: its cells are the standalone `harness eval --peft DIR` runs (one load
per VLM table, the adapter merged before each encoder swap), labelled by the adapter; a bad adapter fails before any
load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.eval.runner import EvalConfig, run_eval
from harness.sweep.run import run_sweep
from tests.harness.eval.peft_fixtures import save_lora_llm
from tests.harness.sweep.conftest import TOY_LLAVA

LIMIT = 4


@pytest.fixture(scope="module")
def toy_lora(tmp_path_factory) -> Path:
    return save_lora_llm(TOY_LLAVA, tmp_path_factory.mktemp("toy_lora") / "lora-a")


def _spec(folder: Path, vlm_extra: str, encoder: str) -> Path:
    spec = folder / "sweep.toml"
    spec.write_text(
        f'out = "grid"\n[eval]\ntasks = ["toy_control"]\nlimit = {LIMIT}\nbatch_size = 4\ndevice = "cpu"\n'
        f'quiet = true\n[[vlm]]\nmodel = "{TOY_LLAVA}"\n[[vlm]]\nmodel = "{TOY_LLAVA}"\n{vlm_extra}\n'
        f'[[encoder]]\nlabel = "zero-shot"\n[[encoder]]\npath = "{encoder}"\n'
    )
    return spec


def _samples(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_a_vlm_table_with_an_adapter_equals_harness_eval_with_it(encoder_dir, toy_lora, tmp_path, loads):
    encoder = encoder_dir / "enc0.safetensors"
    spec = _spec(tmp_path, f'peft = "{toy_lora}"', str(encoder))
    report = run_sweep(spec, progress=False, log=lambda _: None)
    assert loads == ["llava", "llava"] and report.unfinished == []
    assert sorted(p.name for p in (tmp_path / "grid").iterdir() if p.is_dir()) == [
        "llava",
        "llava-lora-llm-session-1",
    ]  # its harness_peft.json
    for label, enc in (("zero-shot", None), ("enc0", str(encoder))):
        cfg = EvalConfig(tasks=["toy_control"], model=str(TOY_LLAVA), encoder=enc, limit=LIMIT, batch_size=4,
                         device="cpu", peft=str(toy_lora), out=str(tmp_path / "alone" / label))  # fmt: skip
        alone = Path(run_eval(cfg, progress=False)["run_dir"])
        cell = tmp_path / "grid" / "llava-lora-llm-session-1" / label
        assert _samples(cell) == _samples(alone)
        assert json.loads((cell / "config.json").read_text()) == json.loads((alone / "config.json").read_text())
        plain = _samples(tmp_path / "grid" / "llava" / label)
        assert all(a["logprobs"] != b["logprobs"] for a, b in zip(_samples(cell), plain))
        assert json.loads((cell / "results.json").read_text())["peft"]["path"] == str(toy_lora)


@pytest.mark.parametrize(
    ("extra", "named"),
    [('peft = "nope"', "peft nope: no such file or directory"), ('peft = "."', "no adapter_config.json")],
)
def test_a_bad_adapter_fails_before_any_load(encoder_dir, tmp_path, loads, extra, named):
    from typer.testing import CliRunner

    from harness.cli import app

    spec = _spec(tmp_path, extra, str(encoder_dir / "enc0.safetensors"))
    res = CliRunner().invoke(app, ["sweep", str(spec), "--quiet"], env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert named in " ".join(res.output.split()) and "Traceback" not in res.output
    assert loads == [] and not (tmp_path / "grid").exists()

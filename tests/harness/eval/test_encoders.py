"""Several encoders on one loaded VLM: each cell equals its standalone run, bit for bit, in any order."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.errors import InputNotFound, InvalidInput
from harness.eval.encoders import encoder_configs, expand_encoders
from harness.eval.runner import EvalConfig, run_eval, run_eval_cells
from harness.tasks.toy_shapes import write_mcq_set
from harness.toy.tiny_llava import build_tiny_open_clip_checkpoint


@pytest.fixture(scope="module")
def encoders(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("encoders")
    return build_tiny_open_clip_checkpoint(d / "a.pt", seed=1), build_tiny_open_clip_checkpoint(d / "b.pt", seed=2)


@pytest.fixture(scope="module")
def mcq(tmp_path_factory) -> Path:
    return write_mcq_set(tmp_path_factory.mktemp("data"), 12, seed=5)


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (Path(run_dir) / "samples.jsonl").read_text().splitlines()]


def test_cells_equal_standalone_runs_in_any_order(tiny_llava_dir, encoders, mcq, tmp_path, loads, monkeypatch):
    import harness.adapters.llava as llava_mod

    hashed = []
    real_fp = llava_mod.weights_fingerprint
    monkeypatch.setattr(llava_mod, "weights_fingerprint", lambda d: hashed.append(d) or real_fp(d))
    a, b = map(str, encoders)
    base = EvalConfig(tasks=[f"mcq_jsonl={mcq}"], model=str(tiny_llava_dir), device="cpu", batch_size=4)
    cells = encoder_configs(replace(base, out=str(tmp_path / "grid")), expand_encoders([a, b, "zero-shot"]))
    assert [c.out for c in cells] == [str(tmp_path / "grid" / x) for x in ("a", "b", "zero-shot")]
    grid = run_eval_cells(cells, progress=False)
    assert len(loads) == 1 and len(hashed) == 1  # one load, weights hashed once
    for enc, label in ((b, "b"), (None, "zero-shot"), (a, "a")):  # B alone, zero-shot alone, A alone
        alone = run_eval(replace(base, encoder=enc, out=str(tmp_path / "alone" / label)), progress=False)
        cell = next(r for r in grid if r["label"] == label)
        assert json.loads((Path(cell["run_dir"]) / "config.json").read_text()) == json.loads(
            (Path(alone["run_dir"]) / "config.json").read_text()
        )
        assert _lines(cell["run_dir"]) == _lines(alone["run_dir"])  # bit-identical log-probs, fp32 CPU
        assert cell["tasks"] == {k: {**v, "seconds": cell["tasks"][k]["seconds"]} for k, v in alone["tasks"].items()}
    assert _lines(tmp_path / "grid" / "a") != _lines(tmp_path / "grid" / "b")  # the encoders do differ
    loads.clear()
    again = run_eval_cells(cells, progress=False)  # finished: skipped without loading
    assert loads == [] and all(r["skipped"] for r in again)


def test_bad_encoder_lists_fail_before_loading(tiny_llava_dir, encoders, mcq, tmp_path, loads):
    a = str(encoders[0])
    with pytest.raises(InvalidInput, match="label 'a'"):
        expand_encoders([a, a])
    with pytest.raises(InputNotFound, match="matches no file"):
        expand_encoders([str(tmp_path / "*.nothing")])
    assert [x for x, _ in expand_encoders([str(Path(a).parent / "*.pt")])] == ["a", "b"]
    base = EvalConfig(tasks=[f"mcq_jsonl={mcq}"], model=str(tiny_llava_dir), device="cpu", out=str(tmp_path / "g"))
    cells = encoder_configs(base, [("a", a), ("missing", str(tmp_path / "missing.pt"))])
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        run_eval_cells(cells, progress=False)
    assert loads == []


def test_cli_eval_with_a_glob_and_zero_shot(tiny_llava_dir, encoders, mcq, tmp_path, loads):
    from typer.testing import CliRunner

    from harness.cli import app

    args = ["eval", "--tasks", f"mcq_jsonl={mcq}", "--model", str(tiny_llava_dir), "--device", "cpu"]
    args += ["--limit", "3", "--quiet", "--encoder", str(encoders[0].parent / "*.pt"), "--encoder", "zero-shot"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "g")])
    assert res.exit_code == 0, res.output
    assert loads == ["llava"]
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["a", "b", "zero-shot"]
    assert all((tmp_path / "g" / x / "results.json").exists() for x in ("a", "b", "zero-shot"))
    res = CliRunner().invoke(app, [*args, "--encoder", str(encoders[0]), "--out", str(tmp_path / "h")])
    assert res.exit_code == 2 and "both get the label 'a'" in " ".join(res.output.split())

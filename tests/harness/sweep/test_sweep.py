"""`harness sweep` on the committed toy LLaVA: each cell equals its standalone `harness eval`, one VLM load."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.eval.runner import EvalConfig, run_eval
from harness.sweep.run import run_sweep, sweep_status
from tests.harness.sweep.conftest import TOY_LLAVA

LIMIT = 8


def write_spec(folder: Path, encoder_dir: Path, extra: str = "") -> Path:
    spec = folder / "sweep.toml"
    spec.write_text(
        f"""
out = "grid"
[eval]
tasks = ["toy_control", "toy_target"]
limit = {LIMIT}
batch_size = 4
device = "cpu"
prompt_style = "text"
quiet = true
[[vlm]]
label = "toy"
model = "{TOY_LLAVA}"
[[encoder]]
label = "zero-shot"
method = "none"
[[encoder]]
path = "{encoder_dir}/enc*.safetensors"
method = "noise"
session = 1
{extra}
"""
    )
    return spec


def _samples(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_sweep_equals_standalone_runs_with_one_load(encoder_dir, tmp_path, loads):
    spec = write_spec(tmp_path, encoder_dir)
    report = run_sweep(spec, progress=False, log=lambda _: None)
    assert loads == ["llava"]  # one VLM load for the four cells
    assert report.unfinished == []
    labels = ["zero-shot", "enc0", "enc1", "enc2"]
    for label in labels:
        enc = None if label == "zero-shot" else str(encoder_dir / f"{label}.safetensors")
        alone = run_eval(
            EvalConfig(
                tasks=["toy_control", "toy_target"],
                model=str(TOY_LLAVA),
                encoder=enc,
                limit=LIMIT,
                batch_size=4,
                device="cpu",
                prompt_style="text",
                out=str(tmp_path / "alone" / label),
            ),
            progress=False,
        )
        cell = tmp_path / "grid" / "toy" / label
        assert _samples(cell) == _samples(Path(alone["run_dir"]))
        assert json.loads((cell / "config.json").read_text()) == json.loads(
            (tmp_path / "alone" / label / "config.json").read_text()
        )
    md = (tmp_path / "grid" / "tables.md").read_text()
    assert "| method | session |" in md and "noise" in md
    rows = list(csv.DictReader((tmp_path / "grid" / "tables.csv").open()))
    assert {r["label"] for r in rows} == set(labels) and {r["method"] for r in rows} == {"none", "noise"}
    assert (tmp_path / "grid" / "tradeoff.png").stat().st_size > 0
    loads.clear()
    again = run_sweep(spec, progress=False, log=lambda _: None)  # finished: no load, nothing scored
    assert loads == [] and again.unfinished == []


def test_shards_partition_the_grid_and_report_lists_the_rest(encoder_dir, tmp_path, loads):
    from harness.sweep.grid import cells, in_shard
    from harness.sweep.spec import read_spec

    spec = write_spec(tmp_path, encoder_dir, extra='[[vlm]]\nlabel = "toy2"\nmodel = "' + str(TOY_LLAVA) + '"\n')
    grid = cells(read_spec(spec))
    parts = [[c.name for c in grid if in_shard(c, (i, 3))] for i in (1, 2, 3)]
    assert sorted(n for p in parts for n in p) == sorted(c.name for c in grid) and len(grid) == 8
    assert all(not set(a) & set(b) for i, a in enumerate(parts) for b in parts[i + 1 :])
    other = tmp_path / "elsewhere"
    other.mkdir()
    moved = cells(read_spec(write_spec(other, encoder_dir, extra=spec.read_text().split("session = 1")[1])))
    assert [[c.name for c in moved if in_shard(c, (i, 3))] for i in (1, 2, 3)] == parts  # not tied to out

    status = sweep_status(spec)  # nothing run yet
    assert loads == [] and sorted(status.unfinished) == sorted(c.name for c in grid)
    shard = next(i for i in (1, 2, 3) if parts[i - 1])
    run_sweep(spec, shard=(shard, 3), progress=False, log=lambda _: None)
    status = sweep_status(spec)
    assert sorted(status.unfinished) == sorted(c.name for c in grid if c.name not in parts[shard - 1])
    assert (tmp_path / "grid" / "tables.md").exists()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('out = "g"\n[eval]\ntasks = ["toy_control"]\nlimt = 3\n[[vlm]]\n[[encoder]]\n', "'limt'"),
        ('out = "g"\n[eval]\ntasks = ["toy_control"]\n[[vlm]]\nfamily = "llama9"\n[[encoder]]\n', "'llama9'"),
        ('out = "g"\n[eval]\ntasks = ["toy_control"]\n[[vlm]]\n[[encoder]]\npath = "nope.pt"\n', "nope.pt"),
        ('out = "g"\n[eval]\ntasks = ["toy_control"]\n[[vlm]]\n[[encoder]]\n[[encoder]]\n', "'zero-shot'"),
        (
            'out = "g"\n[eval]\ntasks = ["toy_control"]\n[[vlm]]\nlabel = "a"\n[[vlm]]\nlabel = "a"\n[[encoder]]\n',
            "'a'",
        ),
        ('out = "g"\n[eval]\ntasks = ["toy_control"]\nlimit = "ten"\n[[vlm]]\n[[encoder]]\n', "limit"),
        ('out = "g"\n[eval]\ntasks = ["toy_control"]\n[[vlm]]\nmdoel = "x"\n[[encoder]]\n', "'mdoel'"),
        ('[eval]\ntasks = ["toy_control"]\n[[vlm]]\n[[encoder]]\n', "`out`"),
        ('out = "g"\n[eval]\ntasks = ["nosuchtask"]\n[[vlm]]\n[[encoder]]\n', "nosuchtask"),
    ],
)
def test_bad_sweep_files_fail_before_any_load(tmp_path, loads, body, named):
    from typer.testing import CliRunner

    from harness.cli import app

    spec = tmp_path / "s.toml"
    spec.write_text(body)
    res = CliRunner().invoke(app, ["sweep", str(spec), "--quiet"])
    assert res.exit_code == 2, res.output
    assert named in " ".join(res.output.split()) and "Traceback" not in res.output
    assert loads == []

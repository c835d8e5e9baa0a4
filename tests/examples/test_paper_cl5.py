"""examples/paper_cl5: the committed sweep parses into the paper's grid (zero-shot, every method's five sessions, all
ten tasks), and the same spec on the toy world (tiny LLaVA, the task fixtures, two sessions of a real `harness tune`
through tune.sh for LoRSU and LoRA-LLM) prints the methods x datasets table and the session matrices, whose values,
TI and CC equal those recomputed by hand from the runs' results.json."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app
from harness.report.runs import task_title
from harness.sweep.grid import cells
from harness.sweep.spec import read_spec
from tests.examples.paper_world import build_paper_data, markdown_tables, toml_text

EXAMPLE = Path(__file__).parents[2] / "examples" / "paper_cl5"
TASKS = ["gts", "tsi", "dalle", "vsr", "hm", "aircraft", "eurosat", "counteranimal:counter", "mmvp", "visonlyqa"]
CA = "counteranimal:counter"
TOWER = ["lorsu", "lora", "ln", "fft", "spu"]
PEFT = ["lora-llm", "lora-llm-last", "lora-full"]
PRIMARY = {"hm": "auroc", CA: "acc_counter"}  # the house's primary metrics (harness.report.runs.PRIMARY); else acc


def _exports(root: Path, sessions: int = 5) -> None:
    """The layout tune.sh writes: OUT/<method>/tune.json and session-S/ with a checkpoint or a PEFT peft/."""
    for m in TOWER + PEFT:
        (root / "tune" / m).mkdir(parents=True)
        (root / "tune" / m / "tune.json").write_text(json.dumps({"method": m, "task": "gts", "seed": 0}))
        for s in range(1, sessions + 1):
            d = root / "tune" / m / f"session-{s}"
            d.mkdir()
            (d / "session.json").write_text(json.dumps({"session": s, "class_names": [f"class {s}"]}))
            if m in PEFT:
                (d / "peft").mkdir()
            else:
                (d / f"checkpoint_session-{s}_epoch-5.safetensors").write_bytes(b"")


def test_the_committed_spec_is_zero_shot_and_every_methods_five_sessions_on_ten_tasks(tmp_path):
    (tmp_path / "data").mkdir()
    _exports(tmp_path)
    spec_path = tmp_path / "sweep.toml"
    spec_path.write_text((EXAMPLE / "sweep.toml").read_text())
    spec = read_spec(spec_path)
    assert spec.eval["tasks"] == TASKS and spec.eval["data_root"] == str(tmp_path / "data")
    assert spec.plot_target == "gts" and sorted(spec.plot_controls) == sorted(TASKS[1:])
    assert spec.out == tmp_path / "runs"
    grid = cells(spec)
    expected = ["llava/zero-shot"] + [f"llava/{m}-session-{s}" for m in TOWER for s in range(1, 6)]
    expected += [f"llava-{m}-session-{s}/zero-shot" for m in PEFT for s in range(1, 6)]
    assert [c.name for c in grid] == expected
    for c in grid:
        assert c.cfg.tasks == TASKS and c.cfg.mode == "generate" and c.cfg.model == "llava-hf/llava-1.5-7b-hf"
        assert c.cfg.out == str(tmp_path / "runs" / c.name)
    tower = {c.encoder.label: c.cfg.encoder for c in grid if c.cfg.encoder}
    assert tower["spu-session-3"] == str(tmp_path / "tune/spu/session-3/checkpoint_session-3_epoch-5.safetensors")
    peft = [c for c in grid if c.cfg.peft]
    assert [c.cfg.peft for c in peft[:5]] == [str(tmp_path / f"tune/lora-llm/session-{s}/peft") for s in range(1, 6)]
    assert all(c.vlm.base == "llava" and c.cfg.encoder is None for c in peft)
    assert {c.vlm.meta["method"] for c in peft} == set(PEFT)


def _toy_spec(folder: Path, model: Path) -> Path:
    """The committed spec rewritten to the toy world: the tiny model, the fixtures, LoRSU and LoRA-LLM only, scored
    by likelihood (the tiny model's generations are noise). CounterAnimal is scored and tabled but not a control:
    see the module docstring of tests/examples/paper_world.py."""
    doc = tomllib.loads((EXAMPLE / "sweep.toml").read_text())
    doc["eval"].update(limit=4, device="cpu", dtype="float32", mode="likelihood", batch_size=8, quiet=True)
    doc["eval"].pop("max_new_tokens")
    doc["vlm"] = [
        {**v, "model": str(model)} for v in doc["vlm"] if v.get("peft", "tune/lora-llm/").startswith("tune/lora-llm/")
    ]
    doc["encoder"] = [e for e in doc["encoder"] if e.get("path", "tune/lorsu/").startswith("tune/lorsu/")]
    (folder / "sweep.toml").write_text(toml_text(doc))
    return folder / "sweep.toml"


def _primary(run_dir: Path, task: str) -> float:
    results = json.loads((run_dir / "results.json").read_text())
    return results["tasks"][task]["metrics"][PRIMARY.get(task, "acc")]["value"]


def _session_classes(session_dir: Path) -> set[str]:
    return set(json.loads((session_dir / "session.json").read_text())["class_names"])


def _gts_acc(run_dir: Path, classes: set[str]) -> float:
    """GTSRB accuracy over the items of `classes`, from the run's samples."""
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    hits = [s["pred"] == s["answer"] for s in rows if s["task"] == "gts" and s["meta"]["label"] in classes]
    assert hits, f"no GTSRB test item of {sorted(classes)} in {run_dir}"
    return sum(hits) / len(hits)


def test_the_spec_on_the_toy_world_prints_the_table_ti_cc_and_session_matrices(tiny_llava_dir, tmp_path):
    build_paper_data(tmp_path / "data")
    env = {**os.environ, "MODEL": str(tiny_llava_dir), "DATA": str(tmp_path / "data"), "OUT": str(tmp_path / "tune"),
           "SESSIONS": "2", "SHOTS": "2", "METHODS": "lorsu lora-llm"}  # fmt: skip
    quick = ["--epochs", "2", "--lr", "1e-1", "--batch-size", "4", "--rank", "4", "--importance-samples", "4"]
    tuned = subprocess.run(["bash", str(EXAMPLE / "tune.sh"), *quick, "--device", "cpu", "--quiet"], env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    spec = _toy_spec(tmp_path, tiny_llava_dir)
    res = CliRunner().invoke(app, ["sweep", str(spec), "--quiet"], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    tables = markdown_tables(res.output)
    grid = tmp_path / "runs"
    runs = {"lorsu": [grid / "llava" / f"lorsu-session-{s}" for s in (1, 2)],
            "lora-llm": [grid / f"llava-lora-llm-session-{s}" / "zero-shot" for s in (1, 2)]}  # fmt: skip
    zero = grid / "llava" / "zero-shot"
    controls = TASKS[1:]  # CounterAnimal's recorded acc_counter among them
    final = next(rows for title, rows in tables if "each method after its last session" in title)
    head = final[0]
    assert head[:3] == ["method", "sessions", "GTS (acc)"] and "HM (auroc)" in head and head[-2:] == ["TI", "CC"]
    assert [r[0] for r in final[1:]] == ["zero-shot", "lorsu, seed 0", "lora-llm, seed 0"]
    order = TASKS  # the target, then the controls in [plot]'s order
    assert head[2:-2] == [f"{task_title(t)} ({PRIMARY.get(t, 'acc')})" for t in order]
    for row, run in zip(final[1:], [zero, runs["lorsu"][-1], runs["lora-llm"][-1]]):
        assert row[2:-2] == [f"{100 * _primary(run, t):.1f}" for t in order], row[0]
    changed = False
    for row in final[2:]:
        last = runs[row[0].split(",")[0]][-1]
        ti = 100 * (_primary(last, "gts") - _primary(zero, "gts"))
        cc = 100 * sum(_primary(last, t) - _primary(zero, t) for t in controls) / len(controls)
        assert (row[-2], row[-1]) == (f"{ti:+.1f}", f"{cc:+.1f}"), row[0]
        changed |= cc != 0
    assert changed, "the tuned sessions changed no control task: TI/CC would not be tested"
    for method, sessions in runs.items():
        rows = next(r for t, r in tables if t.startswith(f"llava — {method}, seed 0: session × task"))
        assert [r[0] for r in rows[1:]] == ["zero-shot", "session 1", "session 2"]
        col = rows[0].index("GTS (acc)")
        assert [r[col] for r in rows[1:]] == [f"{100 * _primary(d, 'gts'):.1f}" for d in [zero, *sessions]]
        assert rows[0][1:3] == ["GTS·s1 (acc)", "GTS·s2 (acc)"]  # each session's classes, before the whole tasks
    metrics = next(r for t, r in tables if t.startswith("Continual-learning metrics"))
    assert [r[1] for r in metrics[1:]] == ["lorsu", "lora-llm"]
    for row, (method, sessions) in zip(metrics[1:], runs.items()):  # the matrix metrics, on the session columns
        classes = [_session_classes(tmp_path / "tune" / method / f"session-{s}") for s in (1, 2)]
        r = [[_gts_acc(d, c) for c in classes] for d in [zero, *sessions]]  # R[i][j], row 0 zero-shot
        got = dict(zip(metrics[0], row))
        assert got["ACC"].split(" [")[0] == f"{100 * (r[2][0] + r[2][1]) / 2:.1f}", method
        assert got["BWT"].split(" [")[0] == f"{100 * (r[2][0] - r[1][0]):+.1f}", method
        assert got["FWT"].split(" [")[0] == f"{100 * (r[1][1] - r[0][1]):+.1f}", method
    for row, fin in zip(metrics[1:], final[2:]):  # the metrics table's TI and CC, with their intervals
        assert row[-2].split(" [")[0] == fin[-2] and row[-1].split(" [")[0] == fin[-1]
    assert (grid / "final.md").read_text().strip() in res.output
    again = CliRunner().invoke(app, ["sweep", str(spec), "--report"], env={"COLUMNS": "400"})  # no model load
    assert again.exit_code == 0 and markdown_tables(again.output) == tables

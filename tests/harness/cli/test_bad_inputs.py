"""Every command × bad inputs: the documented exit code, one line naming the input, no traceback, no model
loaded (any `from_pretrained` here fails the test) and nothing written where results would go."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.toy.build import MODELS_DIR
from tests.harness.cli.bad_input_world import W, build_world
from tests.harness.report.fixtures import mc_samples, pattern, write_run

runner = CliRunner()
BAD_INPUT, GATE_FAILED = 2, 1


@dataclass(frozen=True)
class Case:
    args: Callable[[W], list[str]]
    names: Callable[[W], str]  # the message must contain this (the input it is about)
    code: int = BAD_INPUT
    unwritten: Callable[[W], Path] | None = None  # must not exist afterwards


CLIP = str(MODELS_DIR / "clip")
LLAVA = str(MODELS_DIR / "llava")


def _eval(task: Callable[[W], str], model: str = LLAVA) -> Callable[[W], list[str]]:
    return lambda w: ["eval", "--tasks", task(w), "--model", model, "--device", "cpu", "--out", str(w / "out_eval")]


def _tune(task: Callable[[W], str], clip: Callable[[W], str] = lambda w: CLIP, method: str = "ln"):
    return lambda w: ["tune", "--method", method, "--clip", clip(w), "--task", task(w), "--out", str(w / "out_tune"),
                      "--device", "cpu", "--quiet"]  # fmt: skip


def _tune_vlm(task: Callable[[W], str], vlm: str = "llava", model: str | None = LLAVA, method: str = "lorsu"):
    model_args = ["--model", model] if model else []
    return lambda w: ["tune", "--method", method, "--vlm", vlm, *model_args, "--task", task(w),
                      "--out", str(w / "out_tune"), "--device", "cpu", "--quiet"]  # fmt: skip


def _mcq(name: str) -> Callable[[W], str]:
    return lambda w: f"mcq_jsonl={w / name}"


def _good(w: W) -> str:
    return f"mcq_jsonl={w / 'good' / 'filled.jsonl'}"


CASES = {
    # eval: data, model family, names; nothing under --out
    "eval-missing-path": Case(_eval(_mcq("nope.jsonl")), lambda w: str(w / "nope.jsonl")),
    "eval-empty-file": Case(_eval(_mcq("empty.jsonl")), lambda w: str(w / "empty.jsonl")),
    "eval-truncated-file": Case(_eval(_mcq("truncated.jsonl")), lambda w: f"{w / 'truncated.jsonl'}:1"),
    "eval-truncated-last-line": Case(
        _eval(lambda w: f"mcq_jsonl={w / 'good' / 'cut.jsonl'}"), lambda w: f"{w / 'good' / 'cut.jsonl'}:4"
    ),
    "eval-batch-size-word": Case(
        lambda w: [*_eval(_good)(w), "--batch-size", "lots"], lambda w: "--batch-size 'lots': expected an integer >= 1"
    ),
    "eval-batch-size-zero": Case(lambda w: [*_eval(_good)(w), "--batch-size", "0"], lambda w: "--batch-size '0'"),
    "eval-unknown-device": Case(
        lambda w: [*_eval(_good)(w), "--device", "nosuchdevice"],
        lambda w: "--device 'nosuchdevice': expected auto, cpu, cuda, cuda:N",
    ),
    "sweep-bad-batch-size": Case(
        lambda w: ["sweep", str(w / "sweep_bad.toml")],
        lambda w: "--batch-size 'lots'",
        unwritten=lambda w: w / "out_sweep",
    ),
    "eval-wrong-json-type": Case(_eval(_mcq("list.jsonl")), lambda w: f"{w / 'list.jsonl'}:1"),
    "eval-binary-file": Case(_eval(_mcq("binary.jsonl")), lambda w: str(w / "binary.jsonl")),
    "eval-wrong-model-family": Case(_eval(_good, CLIP), lambda w: f"--model {CLIP}: holds a 'clip' model"),
    "eval-model-without-weights": Case(_eval(_good, "NOWEIGHTS_LLAVA"), lambda w: "no weight files"),
    "eval-unknown-task": Case(_eval(lambda w: "nosuch"), lambda w: "unknown task 'nosuch'"),
    "eval-unknown-vlm": Case(lambda w: ["eval", "--tasks", "toy_control", "--vlm", "blip9"], lambda w: "'blip9'"),
    "eval-missing-data-root": Case(
        lambda w: ["eval", "--tasks", "tsi", "--data-root", str(w / "nope"), "--out", str(w / "out_eval")],
        lambda w: f"--data-root {w / 'nope'}",
    ),
    # eval --peft: the adapter directory before the model loads
    "eval-peft-missing-dir": Case(
        lambda w: [*_eval(_good)(w), "--peft", str(w / "nope")], lambda w: f"--peft {w / 'nope'}: no such directory"
    ),
    "eval-peft-without-config": Case(
        lambda w: [*_eval(_good)(w), "--peft", str(w / "peft_noconfig")], lambda w: "no adapter_config.json"
    ),
    "eval-peft-pickled-weights": Case(
        lambda w: [*_eval(_good)(w), "--peft", str(w / "peft_bin")], lambda w: "holds adapter_model.bin (a pickle"
    ),
    "eval-peft-other-family": Case(
        lambda w: [*_eval(_good)(w), "--peft", str(w / "peft_blip2")],
        lambda w: "an adapter for --vlm blip2 (harness_peft.json), not --vlm llava",
    ),
    # tune: --clip, data, images; no --out before the data is validated
    "tune-missing-clip": Case(_tune(_good, lambda w: str(w / "noclip")), lambda w: f"--clip '{w / 'noclip'}'"),
    "tune-clip-without-weights": Case(_tune(_good, lambda w: str(w / "noweights_clip")), lambda w: "no weight files"),
    "tune-wrong-model-family": Case(_tune(_good, lambda w: LLAVA), lambda w: f"--clip {LLAVA}: holds a 'llava'"),
    "tune-missing-images": Case(
        _tune(lambda w: f"mcq_jsonl={w / 'good' / 'noimage.jsonl'}"),
        lambda w: f"{w / 'good' / 'noimage.jsonl'}:3: image not found",
    ),
    "tune-missing-path": Case(_tune(_mcq("nope.jsonl")), lambda w: str(w / "nope.jsonl")),
    "tune-empty-file": Case(_tune(_mcq("empty.jsonl")), lambda w: f"{w / 'empty.jsonl'}: no items"),
    "tune-unknown-device": Case(
        lambda w: [*_tune(_good)(w), "--device", "gpu0"], lambda w: "--device 'gpu0': expected auto, cpu"
    ),
    "tune-truncated-file": Case(_tune(_mcq("truncated.jsonl")), lambda w: f"{w / 'truncated.jsonl'}:1"),
    "tune-unknown-task": Case(_tune(lambda w: "nosuch"), lambda w: "unknown task 'nosuch'"),
    "tune-unknown-method": Case(_tune(_good, method="magic"), lambda w: "--method 'magic'"),
    # tune through the VLM: the objective's options, the data and the model directory before any weight loads
    "tune-vlm-clip": Case(_tune_vlm(_good, vlm="clip"), lambda w: "--vlm clip has no answer loss"),
    "tune-vlm-and-clip": Case(lambda w: [*_tune_vlm(_good)(w), "--clip", CLIP], lambda w: "give --clip MODEL"),
    "tune-vlm-without-model": Case(_tune_vlm(_good, model=None), lambda w: "--vlm llava needs --model"),
    "tune-vlm-wrong-family": Case(_tune_vlm(_good, vlm="blip2"), lambda w: f"--model {LLAVA}: holds a 'llava'"),
    "tune-vlm-missing-images": Case(
        _tune_vlm(lambda w: f"mcq_jsonl={w / 'good' / 'noimage.jsonl'}"), lambda w: "images/missing.png"
    ),
    "tune-llm-lora-with-clip": Case(_tune(_good, method="lora-llm"), lambda w: "--method lora-llm adapts the LLM"),
    # table / compare / plot: run directories
    "table-missing-path": Case(lambda w: ["table", str(w / "nope")], lambda w: str(w / "nope")),
    "table-empty-results": Case(lambda w: ["table", str(w / "run_empty")], lambda w: "empty file"),
    "table-truncated-results": Case(lambda w: ["table", str(w / "run_truncated")], lambda w: "truncated"),
    "table-wrong-json-type": Case(lambda w: ["table", str(w / "run_list")], lambda w: "expected a JSON object"),
    "table-unknown-format": Case(
        lambda w: ["table", str(w / "run"), "--format", "xls", "--out", str(w / "t.xls")],
        lambda w: "--format 'xls'",
        unwritten=lambda w: w / "t.xls",
    ),
    "table-unknown-baseline": Case(lambda w: ["table", str(w / "run"), "--baseline", "nobody"], lambda w: "'nobody'"),
    "compare-missing-path": Case(lambda w: ["compare", str(w / "run"), str(w / "nope")], lambda w: str(w / "nope")),
    "compare-wrong-json-type": Case(lambda w: ["compare", str(w / "run_null"), str(w / "run")], lambda w: "NoneType"),
    "compare-unknown-metrics": Case(
        lambda w: ["compare", str(w / "run"), str(w / "run_b"), "--metrics", "some"], lambda w: "--metrics"
    ),
    "plot-unknown-task": Case(
        lambda w: ["plot", str(w / "run"), "--target", "GQA", "--control", "tsi", "--out", str(w / "p.png")],
        lambda w: "'GQA'",
        unwritten=lambda w: w / "p.png",
    ),
    "plot-missing-path": Case(
        lambda w: ["plot", str(w / "nope"), "--target", "tsi", "--control", "tsi"], lambda w: str(w / "nope")
    ),
    # check: "could not check" (2) is not "the gate failed" (1)
    **{
        f"check-baseline-{kind}": Case(
            lambda w, kind=kind: ["check", str(w / "run"), "--baseline", str(w / f"base_{kind}.json")],
            lambda w, kind=kind: f"--baseline {w / f'base_{kind}.json'}",
        )
        for kind in ("missing", "list", "null", "truncated", "binary", "badtask")
    },
    "check-missing-run": Case(
        lambda w: ["check", str(w / "nope"), "--baseline", str(w / "b.json"), "--update"],
        lambda w: str(w / "nope"),
        unwritten=lambda w: w / "b.json",
    ),
    # data, tasks, demo, toyworld
    "tsi-frames-missing-videos": Case(
        lambda w: ["data", "tsi-frames", "--videos", str(w / "nope"), "--out", str(w / "frames")],
        lambda w: f"--videos: no video folder {w / 'nope'}",
        unwritten=lambda w: w / "frames",
    ),
    "tsi-frames-no-videos": Case(
        lambda w: ["data", "tsi-frames", "--videos", str(w / "novideos"), "--out", str(w / "frames")],
        lambda w: f"--videos {w / 'novideos'}: no videos",
        unwritten=lambda w: w / "frames",
    ),
    "tasks-missing-data-root": Case(lambda w: ["tasks", "--data-root", str(w / "nope")], lambda w: str(w / "nope")),
    "demo-cache-is-a-file": Case(lambda w: ["demo", "--cache", str(w / "a_file")], lambda w: f"--cache {w / 'a_file'}"),
    "toyworld-out-is-a-file": Case(
        lambda w: ["toyworld", "build", "--out", str(w / "a_file")], lambda w: f"--out {w / 'a_file'}"
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> W:
    return build_world(tmp_path_factory.mktemp("bad"))


@pytest.fixture(autouse=True)
def no_model_loads(monkeypatch):
    """Bad input must be caught before any model loads."""
    from transformers import PreTrainedModel

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded for a bad input")

    monkeypatch.setattr(PreTrainedModel, "from_pretrained", classmethod(refuse))


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(world, name):
    case = CASES[name]
    args = [a.replace("NOWEIGHTS_LLAVA", str(world / "noweights_llava")) for a in case.args(world)]
    res = runner.invoke(app, args, env={"COLUMNS": "400", "HF_HUB_OFFLINE": "1"})
    out = res.output
    assert res.exit_code == case.code, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert case.names(world) in out.replace("\n", " "), out
    assert out.startswith("error: ") and out.count("error:") == 1, out
    for path in [world / "out_eval", world / "out_tune"] + ([case.unwritten(world)] if case.unwritten else []):
        assert not path.exists(), f"{path} was written for a bad input"


def test_no_bad_input_in_the_table_exits_1_or_3():
    """1 means "the gate failed" and 3 "a bug in harness": a typo must read as neither."""
    assert {c.code for c in CASES.values()} == {BAD_INPUT}


def test_exit_codes_are_documented():
    text = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "Exit codes" in text and "2 bad input" in text and "1 `harness check`" in text.replace("\n", " ")


def test_a_bug_keeps_its_traceback_and_asks_for_a_report(monkeypatch, world):
    import harness.report.tables as tables

    def boom(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(tables, "build_tables", boom)
    res = runner.invoke(app, ["table", str(world / "run")])
    assert res.exit_code == 3
    assert "Traceback" in res.output and "ZeroDivisionError" in res.output and "please report it" in res.output


def test_warnings_go_to_stderr_so_json_and_csv_stay_parseable(world, tmp_path):
    other = write_run(tmp_path, "other", {"tsi": mc_samples("tsi", pattern(12, 6))}, label="other")
    res = runner.invoke(app, ["compare", str(world / "run"), str(other), "--json", "--force", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.stderr and json.loads(res.stdout)
    res = runner.invoke(app, ["table", str(world / "run"), str(other), "--format", "csv", "--force"])
    assert res.exit_code == 0 and "warning:" in res.stderr and res.stdout.startswith("table,vlm,")
    assert "warning:" not in res.stdout


def test_gate_failure_is_exit_1_and_distinct_from_could_not_check(world, tmp_path):
    base = tmp_path / "b.json"
    assert runner.invoke(app, ["check", str(world / "run"), "--baseline", str(base), "--update"]).exit_code == 0
    worse = write_run(tmp_path, "worse", {"tsi": mc_samples("tsi", pattern(10, 1))}, label="zs")
    res = runner.invoke(app, ["check", str(worse), "--baseline", str(base), "--tolerance", "1"])
    assert res.exit_code == GATE_FAILED and "FAIL" in res.output

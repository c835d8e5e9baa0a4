"""All six dataset tasks end to end on the tiny LLaVA: per-task results, breakdowns, generate mode,
re-used choice sets, split selection and the tsi-frames data command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.eval.runner import EvalConfig, run_eval
from tests.harness.tasks.fixtures import build_all_fixtures, build_tsi_release

SIX = ["tsi", "gts", "dalle", "vizwiz", "vsr", "hm"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    build_all_fixtures(root, corrupt=True)
    return root


def _cfg(model, root, out, **kw):
    return EvalConfig(
        tasks=kw.pop("tasks", SIX),
        model=str(model),
        device="cpu",
        data_root=str(root),
        out=str(out),
        limit=kw.pop("limit", 6),
        max_errors=1,
        **kw,
    )


def test_six_tasks_end_to_end_through_the_cli(tiny_llava_dir, data_root, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "--tasks",
            ",".join(SIX),
            "--data-root",
            str(data_root),
            "--model",
            str(tiny_llava_dir),
            "--device",
            "cpu",
            "--limit",
            "6",
            "--max-errors",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert set(results["tasks"]) == set(SIX)
    for key, t in results["tasks"].items():
        assert t["n"] + t["n_errors"] == 6, key
        assert t["metrics"], key
    assert "vqa_acc" in results["tasks"]["vizwiz"]["metrics"]
    assert "auroc" in results["tasks"]["hm"]["metrics"]
    assert results["tasks"]["vsr"]["breakdown"]  # per-relation accuracy is recorded
    assert results["tasks"]["vizwiz"]["n_errors"] + results["tasks"]["hm"]["n_errors"] >= 1


def test_generate_mode_records_generations(tiny_llava_dir, data_root, tmp_path):
    res = run_eval(
        _cfg(
            tiny_llava_dir, data_root, tmp_path / "g", tasks=["vsr", "hm"], limit=3, mode="generate", max_new_tokens=3
        ),
        progress=False,
    )
    lines = [json.loads(x) for x in (tmp_path / "g" / "samples.jsonl").read_text().splitlines()]
    ok = [s for s in lines if s["error"] is None]
    assert ok and all(isinstance(s["generation"], str) and "pred" in s for s in ok)
    assert res["config"]["mode"] == "generate" and "acc" in res["tasks"]["vsr"]["metrics"]


def test_published_choice_sets_are_reused(tiny_llava_dir, data_root, tmp_path):
    first = run_eval(_cfg(tiny_llava_dir, data_root, tmp_path / "a", tasks=["gts"], seed=1), progress=False)
    again = run_eval(
        _cfg(
            tiny_llava_dir,
            data_root,
            tmp_path / "b",
            tasks=["gts"],
            seed=2,
            choices=str(tmp_path / "a" / "samples.jsonl"),
        ),
        progress=False,
    )
    other = run_eval(_cfg(tiny_llava_dir, data_root, tmp_path / "c", tasks=["gts"], seed=2), progress=False)
    h = lambda r: r["tasks"]["gts"]["item_set_sha256"]  # noqa: E731
    assert h(first) == h(again) != h(other)
    assert again["config"]["choices"].endswith("samples.jsonl")


def test_split_in_the_task_spec(tiny_llava_dir, data_root, tmp_path):
    res = run_eval(
        _cfg(tiny_llava_dir, data_root, tmp_path / "s", tasks=["hm:dev_seen", "vsr"], limit=2), progress=False
    )
    assert set(res["tasks"]) == {"hm:dev_seen", "vsr"}
    assert res["tasks"]["hm:dev_seen"]["describe"]["split"] == "dev_seen"


def test_tsi_frames_command(tmp_path):
    root = build_tsi_release(tmp_path / "ts", n_videos=3)
    res = CliRunner().invoke(app, ["data", "tsi-frames", "--videos", str(root / "mp4"), "--out", str(root / "frames")])
    assert res.exit_code == 0, res.output
    n = len(list((root / "mp4").glob("*.mp4")))
    assert n >= 3 and len(list((root / "frames").glob("*.jpg"))) == n
    again = CliRunner().invoke(
        app, ["data", "tsi-frames", "--videos", str(root / "mp4"), "--out", str(root / "frames")]
    )
    assert f"skipped={n}" in again.output.replace(" ", "")  # resumable: nothing is extracted twice

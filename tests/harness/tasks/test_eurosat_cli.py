"""EuroSAT through the CLI (one-line errors, harness eval in both modes) and as tuning data with LoRSU's sessions."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.eurosat import EuroSat
from tests.harness.tasks.eval_cli import eval_task
from tests.harness.tasks.fixtures_eurosat import (
    COUNTS,
    build_eurosat,
    write_coop_split,
    write_jpeg,
)

# CLIP_benchmark's en_classnames.json "eurosat" (LAION-AI/CLIP_benchmark@374d11f), which LoRSU's EuroSAT.class_names
# repeats; index = class id
from tests.harness.tasks.test_eurosat import CLIP_NAMES, HAND_SPLIT


def test_cli_reports_a_bad_release_as_one_line(tmp_path):
    build_eurosat(tmp_path / "data" / "eurosat")
    write_jpeg(tmp_path / "data" / "eurosat" / "2750" / "Farmland" / "Farmland_1.jpg", 1)
    args = ["eval", "--tasks", "eurosat", "--data-root", str(tmp_path / "data"), "--model", str(tmp_path / "no")]
    res = CliRunner().invoke(app, [*args, "--device", "cpu", "--out", str(tmp_path / "run")])
    assert res.exit_code == 2 and "Farmland is not a EuroSAT RGB class folder" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "run" / "config.json").exists()


def test_cli_end_to_end(tiny_llava_dir, tmp_path):
    build_eurosat(tmp_path / "data" / "eurosat")
    rec, samples = eval_task("eurosat", tmp_path / "data", tiny_llava_dir, tmp_path / "run", 6)
    task = EuroSat(tmp_path / "data" / "eurosat")
    assert [s["id"] for s in samples] == [it.id for it in task.items()][:6]
    assert rec["n"] == 6 and rec["describe"]["split_sha256"] == task.describe()["split_sha256"]
    assert rec["describe"]["split_source"].startswith("seeded")
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 6
    assert rec["metrics"]["acc_norm"]["value"] == sum(s["pred_norm"] == s["answer"] for s in samples) / 6
    by_id = {it.id: it for it in task.items()}
    assert all(s["choices"] == list(by_id[s["id"]].choices) for s in samples)


def test_cli_generate_mode(tiny_llava_dir, tmp_path):
    build_eurosat(tmp_path / "data" / "eurosat")
    write_coop_split(tmp_path / "data" / "eurosat")
    args = ["eval", "--tasks", "eurosat", "--data-root", str(tmp_path / "data"), "--model", str(tiny_llava_dir)]
    args += ["--device", "cpu", "--mode", "generate", "--max-new-tokens", "2", "--limit", "4"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    rec = json.loads((tmp_path / "run" / "results.json").read_text())["tasks"]["eurosat"]
    samples = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    task = EuroSat(tmp_path / "data" / "eurosat")
    by_id = {it.id: it for it in task.items()}
    assert len(samples) == 4 and all(isinstance(s["generation"], str) for s in samples)
    assert all(s["pred"] == task.extract_answer(by_id[s["id"]], s["generation"]) for s in samples)
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 4
    assert rec["describe"]["split_source"] == "CoOp split_zhou_EuroSAT.json"


def test_tuning_data_and_lorsus_sessions(tmp_path):
    """`harness tune --task eurosat` reads the class ids; LoRSU's sessions: np.array_split(range(10), 5)."""
    from harness.clip.data import from_task
    from harness.tune.sessions import class_groups

    data = from_task(EuroSat(build_eurosat(tmp_path), split="train"))
    assert data.class_names == CLIP_NAMES and len(data) == 25
    assert sorted(data.labels) == sorted(c for c, f in enumerate(COUNTS) for _ in range(HAND_SPLIT[f][0]))
    assert class_groups(data, 5, 0, "eurosat") == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]

"""Trade-off plot: hand-computed coordinates, left-out runs, and the PNG/PDF files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import InvalidInput
from harness.report.plot import draw_tradeoff, output_paths, resolve_axis, tradeoff_points
from harness.report.runs import load_run
from tests.harness.report.fixtures import mc_samples, write_run

runner = CliRunner()


def _runs(paths):
    return [load_run(p) for p in paths.values()]


def test_points_are_target_gain_and_mean_control_change(paper_runs):
    points, tgt, ctl, notes = tradeoff_points(_runs(paper_runs), "TSI", ["VSR", "VizWiz", "HM"])
    assert (tgt.task, tgt.metric) == ("tsi", "acc")
    assert [(a.task, a.metric) for a in ctl] == [("vsr", "acc"), ("vizwiz", "vqa_acc"), ("hm", "auroc")]
    got = {(p.vlm, p.label): (p.x, p.y) for p in points}
    # llava LoRSU: TSI 20 → 60; VSR 60 → 58, VizWiz 60 → 100, HM AUROC 55.6 → 100
    assert got[("llava", "LoRSU")] == (pytest.approx(40.0), pytest.approx((-2 + 40 + (100 - 500 / 9)) / 3))
    # FT and the minigptv2 runs lack VizWiz/HM: left out with a note, not plotted as 0
    assert set(got) == {("llava", "LoRSU")}
    assert any("llava/FT" in n and "VizWiz" in n for n in notes)


def test_explicit_metric_and_per_vlm_baselines(paper_runs):
    points, _, ctl, _ = tradeoff_points(_runs(paper_runs), "tsi", ["vsr", "HM:acc"])
    assert ctl[1].metric == "acc"
    got = {(p.vlm, p.label): (p.x, p.y) for p in points}
    assert got == {("llava", "LoRSU"): (pytest.approx(40.0), pytest.approx((-2 + 50) / 2))}  # HM acc 50 → 100
    points, _, _, _ = tradeoff_points(_runs(paper_runs), "TSI", ["VSR"])
    got = {(p.vlm, p.label): (p.x, p.y) for p in points}
    assert got == {
        ("llava", "LoRSU"): pytest.approx((40.0, -2.0)),
        ("llava", "FT"): pytest.approx((50.0, -20.0)),
        ("minigptv2", "LoRSU"): pytest.approx((10.0, 0.0)),
    }  # vs minigptv2's own zero-shot


def test_unknown_task_is_named(paper_runs):
    with pytest.raises(ValueError, match="task 'GQA' is in none of the runs"):
        resolve_axis("GQA", _runs(paper_runs))


def test_png_and_pdf_are_written(paper_runs, tmp_path):
    points, tgt, ctl, _ = tradeoff_points(_runs(paper_runs), "TSI", ["VSR"])
    paths = draw_tradeoff(points, tgt, ctl, tmp_path / "fig" / "tradeoff.png")
    assert (
        paths
        == output_paths(tmp_path / "fig" / "tradeoff.png")
        == [tmp_path / "fig" / "tradeoff.png", tmp_path / "fig" / "tradeoff.pdf"]
    )
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[1].read_bytes()[:5] == b"%PDF-"


def test_cli_plot(paper_runs, tmp_path):
    folder = next(iter(paper_runs.values())).parent
    out = tmp_path / "fig.png"
    res = runner.invoke(
        app,
        ["plot", str(folder), "--target", "TSI", "--control", "VSR,VizWiz,HM", "--out", str(out)],
        env={"COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert out.exists() and out.with_suffix(".pdf").exists()
    assert "+40.00" in res.output and "llava/FT: left out" in res.output
    res = runner.invoke(
        app, ["plot", str(paper_runs["mgv2-zs"]), "--target", "TSI", "--control", "VSR", "--out", str(out)]
    )
    assert res.exit_code == 2 and "no run to plot" in res.output


def test_split_keys_and_metric_suffixes_resolve(tmp_path):
    p = write_run(tmp_path, "r", {"vsr:zeroshot": mc_samples("vsr:zeroshot", [True]), "vsr": mc_samples("vsr", [1])})
    runs = [load_run(p)]
    assert (resolve_axis("vsr:zeroshot", runs).task, resolve_axis("VSR (zeroshot)", runs).task) == ("vsr:zeroshot",) * 2
    assert (resolve_axis("VSR", runs).task, resolve_axis("vsr:acc_norm", runs).metric) == ("vsr", "acc_norm")
    axis = resolve_axis("vsr:zeroshot:acc_norm", runs)
    assert (axis.task, axis.metric) == ("vsr:zeroshot", "acc_norm")


def test_points_metrics_stay_unscaled_and_never_mix_with_percent_controls(tmp_path):
    paths = []
    for name, label, perception, acc in (("zs", None, 1500.0, 0.5), ("lorsu", "LoRSU", 1450.5, 0.75)):
        p = write_run(tmp_path, name, {"mme": mc_samples("mme", [1, 0]), "vsr": mc_samples("vsr", [1, 0])}, label=label)
        rec = json.loads((p / "results.json").read_text())
        rec["tasks"]["mme"]["metrics"] = {"perception": {"value": perception}, "acc": {"value": acc}}
        (p / "results.json").write_text(json.dumps(rec))
        paths.append(p)
    runs = [load_run(p) for p in paths]
    points, _, _, _ = tradeoff_points(runs, "VSR", ["MME"])
    assert [(p.x, p.y) for p in points] == [(0.0, pytest.approx(-49.5))]  # MME perception in points, not ×100
    points, _, _, _ = tradeoff_points(runs, "VSR", ["mme:acc", "vsr"])
    assert [p.y for p in points] == [pytest.approx(12.5)]  # (25 + 0) / 2 percentage points
    with pytest.raises(InvalidInput, match=r"the controls mix units: MME perception in official points.*mme:acc"):
        tradeoff_points(runs, "VSR", ["MME", "vsr"])

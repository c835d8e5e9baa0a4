"""The sweep report's default trade-off controls: the other tasks in %, never a metric kept in official points."""

from __future__ import annotations

import json

from harness.report.runs import load_run
from harness.sweep.report import _in_percent
from tests.harness.report.fixtures import mc_samples, write_run


def test_default_controls_leave_official_points_out(tmp_path):
    p = write_run(tmp_path, "r", {"mme": mc_samples("mme", [1, 0]), "vsr": mc_samples("vsr", [1, 0])})
    rec = json.loads((p / "results.json").read_text())
    rec["tasks"]["mme"]["metrics"] = {"perception": {"value": 1500.0}, "acc": {"value": 0.5}}
    (p / "results.json").write_text(json.dumps(rec))
    runs = [load_run(p)]
    assert (_in_percent("vsr", runs), _in_percent("mme", runs), _in_percent("nosuchtask", runs)) == (True, False, False)

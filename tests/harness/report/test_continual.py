"""`harness cl`: the session × task matrix and the continual-learning metrics it prints equal an independent
recomputation from samples.jsonl (1e-9), with the formulas written out here as the papers state them."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from harness.cli import app
from harness.report.comparable import IncomparableRuns
from harness.report.continual_format import continual_reports
from harness.report.html_report import build_report
from harness.report.runs import load_run
from tests.harness.report.fixtures import hm_samples, mc_samples, write_run

CLASSES = [["stop", "yield"], ["speed limit 30", "no entry"], ["priority road", "turn left"]]
N = 60  # target items, 10 per class
runner = CliRunner()


def _target(correct: list[bool]) -> list[dict]:
    samples = mc_samples("gts", correct, n_choices=4)
    for i, s in enumerate(samples):
        s["meta"] = {"label": [c for group in CLASSES for c in group][i % 6]}
    return samples


def _run(root, name, rng, p_target, p_control, meta=None, export=None, n=N):
    target = _target([rng.random() < p_target for _ in range(n)])
    control = mc_samples("vsr", [rng.random() < p_control for _ in range(40)], n_choices=2)
    hm = hm_samples([i % 2 for i in range(30)], [min(0.95, max(0.05, rng.random())) for _ in range(30)])
    path = write_run(root, name, {"gts": target, "vsr": control, "hm": hm}, encoder=None if meta is None else name)
    results = json.loads((path / "results.json").read_text())
    results["encoder_meta"] = meta or {}
    results["encoder_export"] = export or {}
    (path / "results.json").write_text(json.dumps(results))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cl")
    rng = random.Random(7)
    paths = [_run(root, "zero-shot", rng, 0.3, 0.8)]
    for method, seeds in (("lorsu", (0, 1)), ("lora", (0,))):
        for seed in seeds:
            for s in (1, 2, 3):
                export = {"session": s, "method": method, "task": "gts", "session_classes": CLASSES[s - 1]}
                paths.append(_run(root, f"{method}-{seed}-s{s}", rng, 0.3 + 0.15 * s, 0.8 - 0.05 * s,
                                  {"seed": str(seed)}, export))  # fmt: skip
    return paths


def _samples(path):
    out = {}
    for line in (path / "samples.jsonl").read_text().splitlines():
        s = json.loads(line)
        out.setdefault(s["task"], []).append(s)
    return out


def _reference(rows):
    """R, the papers' metrics and TI/CC from the rows' samples, computed here from scratch."""
    data = [_samples(p) for p in rows]
    acc = [
        [np.mean([s["pred"] == s["answer"] for s in d["gts"] if s["meta"]["label"] in g]) for g in CLASSES]
        for d in data
    ]
    r = np.array(acc)
    t = 3
    ref = {
        "ACC": sum(r[t][j] for j in range(t)) / t,
        "BWT": sum(r[t][j] - r[j + 1][j] for j in range(t - 1)) / (t - 1),
        "FWT": sum(r[j][j] - r[0][j] for j in range(1, t)) / (t - 1),
        "F": sum(max(r[k][j] for k in range(1, t)) - r[t][j] for j in range(t - 1)) / (t - 1),
        "MFT": sum(r[j + 1][j] for j in range(t)) / t,
        "MFN": sum(r[t][j] for j in range(t)) / t,
        "MAA": sum(sum(r[k][j] for j in range(k)) / k for k in range(1, t + 1)) / t,
    }
    gts = [np.mean([s["pred"] == s["answer"] for s in d["gts"]]) for d in data]
    ref["TI"] = gts[-1] - gts[0]
    vsr = [np.mean([s["pred"] == s["answer"] for s in d["vsr"]]) for d in data]
    hm = [
        roc_auc_score([s["meta"]["label"] for s in d["hm"]], [np.exp(s["logprobs"][0]) for s in d["hm"]]) for d in data
    ]
    ref["CC"] = ((vsr[-1] - vsr[0]) + (hm[-1] - hm[0])) / 2
    return r, ref


def _csv(paths, *extra):
    res = runner.invoke(app, ["cl", *map(str, paths), "--format", "csv", "--n-boot", "200", *extra])
    assert res.exit_code == 0, res.output
    return list(csv.DictReader(io.StringIO(res.stdout)))


def test_printed_matrix_and_metrics_equal_the_papers_formulas(runs):
    rows = _csv(runs)
    for method, seed, members in (("lorsu", "0", runs[1:4]), ("lorsu", "1", runs[4:7]), ("lora", "0", runs[7:10])):
        r, ref = _reference([runs[0], *members])
        mine = [x for x in rows if x["method"] == method and x["seed"] == seed]
        for k, v in ref.items():
            got = next(x for x in mine if x["section"] == "metric" and x["metric"] == k)
            assert float(got["value"]) == pytest.approx(v, abs=1e-9), (method, seed, k)
            assert float(got["ci95_low"]) <= float(got["value"]) <= float(got["ci95_high"]), k
        for j in range(3):
            for i, name in enumerate(["zero-shot", "session 1", "session 2", "session 3"]):
                cell = next(
                    x for x in mine if x["section"] == "matrix" and x["row"] == name and x["column"] == f"GTS·s{j + 1}"
                )
                assert float(cell["value"]) == pytest.approx(r[i][j], abs=1e-9)


def test_intervals_are_reproducible_and_the_markdown_shows_everything(runs):
    assert _csv(runs) == _csv(runs)
    res = runner.invoke(app, ["cl", *map(str, runs), "--n-boot", "100"])
    assert res.exit_code == 0, res.output
    for text in ("session × task", "GTS·s3", "HM (auroc)", "BWT", "mean ± sd over orders and seeds", "Chaudhry"):
        assert text in res.stdout, text


@pytest.mark.parametrize("fmt", ["latex", "html"])
def test_other_formats_and_the_plot(runs, tmp_path, fmt):
    res = runner.invoke(
        app, ["cl", *map(str, runs), "--format", fmt, "--n-boot", "0", "--plot", str(tmp_path / "cl.png")]
    )
    assert res.exit_code == 0, res.output
    assert ("\\toprule" if fmt == "latex" else "<table") in res.stdout
    assert (tmp_path / "cl.png").stat().st_size > 10_000 and (tmp_path / "cl.pdf").is_file()


def test_one_dataset_per_session(tmp_path):
    """MLLM-style: each session trains on its own task; the matrix columns are those tasks."""
    rng = random.Random(3)
    paths = [_run(tmp_path, "zero-shot", rng, 0.3, 0.6)]
    for s, task in enumerate(("gts", "vsr"), 1):
        paths.append(_run(tmp_path, f"s{s}", rng, 0.5, 0.7, {"method": "ft", "session": str(s), "task": task}))
    rows = _csv(paths)
    d = [_samples(p) for p in paths]
    acc = {t: [np.mean([s["pred"] == s["answer"] for s in x[t]]) for x in d] for t in ("gts", "vsr")}
    bwt = acc["gts"][2] - acc["gts"][1]
    got = next(x for x in rows if x["metric"] == "BWT")
    assert float(got["value"]) == pytest.approx(bwt, abs=1e-9)


def test_bad_sequences_are_named(runs, tmp_path):
    res = runner.invoke(app, ["cl", *map(str, runs[1:4])])
    assert res.exit_code == 2 and "no zero-shot run" in res.output
    res = runner.invoke(app, ["cl", *map(str, [runs[0], runs[1], runs[3]])])
    assert res.exit_code == 2 and "sessions [1, 3] are not 1..2" in res.output
    res = runner.invoke(app, ["cl", str(runs[0])])
    assert res.exit_code == 2 and "no run carries a session" in res.output


def test_a_control_in_official_points_is_in_the_matrix_but_not_in_cc(runs, tmp_path):
    paths = []
    for k, src in enumerate([runs[0], *runs[1:4]]):
        dst = shutil.copytree(src, tmp_path / src.name)
        mme = write_run(tmp_path / "mme", src.name, {"mme": mc_samples("mme", [True, False, k % 2 == 0, True])})
        with (dst / "samples.jsonl").open("a") as f:
            f.write((mme / "samples.jsonl").read_text())
        results = json.loads((dst / "results.json").read_text())
        task = json.loads((mme / "results.json").read_text())["tasks"]["mme"]
        task["metrics"] = {"perception": {"value": 1500.0 - 25 * k}, "cognition": {"value": 300.0}}
        results["tasks"]["mme"] = task
        (dst / "results.json").write_text(json.dumps(results))
        paths.append(dst)
    rows = _csv(paths)
    _, ref = _reference([runs[0], *runs[1:4]])
    cc = next(x for x in rows if x["section"] == "metric" and x["metric"] == "CC")
    assert float(cc["value"]) == pytest.approx(ref["CC"], abs=1e-9)  # VSR and HM only
    col = [x for x in rows if x["section"] == "matrix" and x["column"].startswith("MME")]
    assert [float(x["value"]) for x in col] == pytest.approx([15.0, 14.75, 14.5, 14.25])  # points / 100


def _rescored(runs, root):
    """The first LoRSU sequence with session 2 re-scored on 50 of the 60 target items."""
    export = {"session": 2, "method": "lorsu", "task": "gts", "session_classes": CLASSES[1]}
    short = _run(root, "lorsu-0-s2", random.Random(5), 0.6, 0.7, {"seed": "0"}, export, n=50)
    return [runs[0], runs[1], short, runs[3]]


def test_runs_that_saw_other_items_are_refused_unless_forced(runs, tmp_path):
    """As `harness table`: one check (comparable.require_comparable), --force to go on, and then the narrowing
    to the common items is said on stderr with the counts."""
    paths = _rescored(runs, tmp_path)
    res = runner.invoke(app, ["cl", *map(str, paths), "--n-boot", "0"])
    assert res.exit_code == 2 and res.stdout == "", res.output
    assert "gts: item set" in res.stderr and "--force" in res.stderr and "vsr" not in res.stderr
    assert "zero-shot, lorsu-0-s1, lorsu-0-s3" in res.stderr and "in lorsu-0-s2" in res.stderr
    with pytest.raises(IncomparableRuns, match="gts: item set"):  # the sweep report's and the demo's call
        continual_reports([load_run(p) for p in paths], n_boot=0)

    res = runner.invoke(app, ["cl", *map(str, paths), "--n-boot", "0", "--force", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "gts: item set" in res.stderr
    assert "GTS: narrowed to the 50 items every checkpoint scored" in res.stderr
    assert "zero-shot 60, session 1 60, session 2 50, session 3 60" in res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    zero = _samples(runs[0])["gts"][:50]
    cell = next(x for x in rows if x["section"] == "matrix" and x["row"] == "zero-shot" and x["column"] == "GTS")
    assert float(cell["value"]) == pytest.approx(np.mean([s["pred"] == s["answer"] for s in zero]), abs=1e-9)


def test_harness_report_passes_force_to_its_continual_section(runs, tmp_path):
    loaded = [load_run(p) for p in _rescored(runs, tmp_path)]
    html, _ = build_report(loaded[:2], max_items=0, n_boot=50, continual=loaded)
    assert "did not see the same items" in html and "GTS·s1" not in html
    html, _ = build_report(loaded[:2], max_items=0, n_boot=50, continual=loaded, force=True)
    assert "GTS·s1" in html and "narrowed to the 50 items" in html
    assert "<!DOCTYPE" not in html[20:]  # the section is embedded, not a second page


@pytest.mark.parametrize("fmt", ["html", "html-fragment"])
def test_html_is_a_page_and_the_fragment_embeds(runs, tmp_path, fmt):
    out = tmp_path / "cl.html"
    res = runner.invoke(app, ["cl", *map(str, runs), "--format", fmt, "--n-boot", "0", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    page = fmt == "html"
    assert text.startswith("<!DOCTYPE html>") == page and ('<meta charset="utf-8">' in text) == page
    assert ("<title>" in text) == page and ("<body>" in text) == page
    assert "GTS·s3" in text and "<table" in text
    if page:
        assert text.index("<body>") < text.index("<table") < text.index("</body>")

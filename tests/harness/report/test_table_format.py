"""LaTeX (booktabs) structure, CSV for pandas, HTML, and the `harness table` command line."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

from harness.cli import app
from harness.report.runs import load_run
from harness.report.table_format import latex_escape, render
from harness.report.tables import build_tables
from tests.harness.report.fixtures import mc_samples, pattern, write_run

runner = CliRunner()


def _runs(paths):
    return [load_run(p) for p in paths.values()]


def _unescaped(text: str, ch: str) -> int:
    return len(re.findall(r"(?<!\\)" + re.escape(ch), text))


def test_latex_is_booktabs_with_consistent_columns(paper_runs):
    tex = render(build_tables(_runs(paper_runs), ci=True, delta=True, significance=True), "latex")
    body = [line for line in tex.splitlines() if not line.lstrip().startswith("%")]
    text = "\n".join(body)
    spec = re.search(r"\\begin\{tabular\}\{([lr]+)\}", text).group(1)
    assert spec == "ll" + "r" * 5
    rows = [line for line in body if line.rstrip().endswith(r"\\")]
    assert len(rows) == 1 + 5  # header + one row per run
    assert all(_unescaped(r, "&") == len(spec) - 1 for r in rows)
    order = [text.index(k) for k in (r"\toprule", r"\midrule", r"\bottomrule", r"\end{tabular}", r"\end{table}")]
    assert order == sorted(order) and text.count(r"\midrule") == 2  # after the header, between the VLMs
    assert _unescaped(text, "{") == _unescaped(text, "}")
    assert all(ord(c) < 128 for c in text)  # pdflatex-safe: no raw Unicode (·, –, ±, Δ, †)
    assert _unescaped(text, "%") == 0 and _unescaped(text, "_") == 0
    assert r"\textbf{70.0}" in text and r"\textit{(baseline)}" in text and "& -- &" in text
    assert "$^\\dagger$" in text and re.search(r"\{\\scriptsize \[\d+\.\d, \d+\.\d\]\}", text)


def test_latex_escapes_labels_and_standalone_is_a_document(tmp_path):
    p = write_run(tmp_path, "r", {"dalle": mc_samples("dalle", [True, False])}, encoder="x.pt", label="ours_50%&#1")
    tex = render(build_tables([load_run(p)]), "latex", standalone=True)
    assert r"ours\_50\%\&\#1" in tex and r"DA$\cdot$E" in tex
    assert tex.startswith("\\documentclass{article}") and "\\usepackage{booktabs}" in tex
    assert tex.rstrip().endswith("\\end{document}")
    assert latex_escape("a<b>c~") == r"a$<$b$>$c\textasciitilde{}"


def test_csv_has_one_row_per_run_task_metric_as_fractions(paper_runs):
    runs = _runs(paper_runs)
    df = pd.read_csv(io.StringIO(render(build_tables(runs, delta=True), "csv")))
    expected = sum(len(t["metrics"]) for r in runs for t in r.tasks.values())
    assert len(df) == expected
    assert not df.duplicated(["vlm", "label", "task", "metric"]).any()
    row = df[(df.vlm == "llava") & (df.label == "LoRSU") & (df.task == "tsi") & (df.metric == "acc")].iloc[0]
    assert row.value == 0.6 and abs(row.delta_vs_baseline - 0.4) < 1e-12 and row.n == 50
    assert row.ci95_low < 0.6 < row.ci95_high and not row.is_baseline
    assert (row.ci95_low, row.ci95_high) == pytest.approx(proportion_confint(30, 50, method="wilson"))
    assert row.ci95_method == "Wilson"
    auroc = df[(df.label == "zero-shot") & (df.metric == "auroc")].iloc[0]
    assert abs(auroc.value - 5 / 9) < 1e-12 and pd.isna(auroc.stderr)
    assert df[(df.label == "FT") & (df.task == "hm")].empty  # missing stays missing


def test_html_escapes_and_marks(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(10, 3))})
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(10, 6))}, encoder="b.pt", label="<ours>")
    html = render(build_tables([load_run(a), load_run(b)]), "html")
    assert "&lt;ours&gt;" in html and "<ours>" not in html
    assert "<td><b>60.0</b></td>" in html and "<i>(baseline)</i>" in html


def test_cli_table_formats_and_out_file(paper_runs, tmp_path):
    folder = next(iter(paper_runs.values())).parent
    res = runner.invoke(app, ["table", str(folder), "--delta", "--ci"])
    assert res.exit_code == 0, res.output
    assert "| llava | zero-shot (baseline) |" in res.output and "(+40.0)" in res.output
    out = tmp_path / "t" / "table.tex"
    res = runner.invoke(app, ["table", *map(str, paper_runs.values()), "-f", "latex", "--out", str(out)])
    assert res.exit_code == 0 and r"\toprule" in out.read_text()
    res = runner.invoke(app, ["table", str(folder), "-f", "docx"])
    assert res.exit_code == 2 and "unknown --format" in res.output


def test_cli_baseline_directory_outside_the_list_is_added(paper_runs):
    res = runner.invoke(
        app, ["table", str(paper_runs["llava-lorsu"]), "--baseline", str(paper_runs["llava-zs"]), "--delta"]
    )
    assert res.exit_code == 0, res.output
    assert "zero-shot (baseline)" in res.output and "(+40.0)" in res.output


def test_cli_refuses_mismatch_unless_forced(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 5))})
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(20, 5))}, encoder="b.pt", limit=20)
    res = runner.invoke(app, ["table", str(a), str(b)])
    assert res.exit_code == 2 and "limit differs" in res.output and "--force" in res.output
    res = runner.invoke(app, ["table", str(a), str(b), "--force"])
    assert res.exit_code == 0 and "warning" in res.output and "25.0" in res.output


@pytest.mark.parametrize("fmt", ["html", "html-fragment"])
def test_cli_html_is_a_page_and_the_fragment_embeds(paper_runs, tmp_path, fmt):
    out = tmp_path / "table.html"
    res = runner.invoke(app, ["table", *map(str, paper_runs.values()), "--format", fmt, "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    page = fmt == "html"
    assert text.startswith("<!DOCTYPE html>") == page and ('<meta charset="utf-8">' in text) == page
    assert ("<title>" in text) == page and ("<body>" in text) == page
    assert "<caption>VQA: primary metric in %" in text
    if page:
        assert text.index("<body>") < text.index("<table") < text.index("</table>") < text.index("</body>")
    else:
        assert text.lstrip().startswith("<table")

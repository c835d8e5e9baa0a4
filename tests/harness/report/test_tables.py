"""`harness table`: hand-computed cells, order, bold on the true best, "–" for missing, baselines, Δ, CI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import proportion_confint

from harness.report.runs import load_run, task_sort_key
from harness.report.table_format import render
from harness.report.tables import build_tables
from harness.tasks.vqa_accuracy import vqa_accuracy
from tests.harness.report.fixtures import mc_samples, pattern, vizwiz_samples, write_run


def grid(md: str) -> tuple[list[str], dict[tuple[str, str], list[str]]]:
    """Header and {(vlm, method): cells} of the first Markdown table (VLM carried down blank cells)."""
    rows = [line.strip("|").split(" | ") for line in md.splitlines() if line.startswith("| ")]
    header, body, vlm = [c.strip() for c in rows[0]], {}, ""
    for r in rows[1:]:
        r = [c.strip() for c in r]
        vlm = r[0] or vlm
        body[(vlm, r[1])] = r[2:]
    return header, body


def load(paths):
    return [load_run(p) for p in paths.values()]


def test_cells_are_the_hand_computed_percentages(paper_runs):
    md = render(build_tables(load(paper_runs)), "md")
    header, body = grid(md)
    assert header == ["VLM", "Method", "VSR", "VizWiz", "HM AUROC", "HM acc", "TSI"]
    zs, lorsu, ft = body[("llava", "zero-shot (baseline)")], body[("llava", "LoRSU")], body[("llava", "FT")]
    # HM AUROC by hand: zero-shot 5 of 9 (positive, negative) pairs ordered right, LoRSU 9 of 9
    assert [c.strip("*") for c in zs] == ["60.0", "60.0", "55.6", "50.0", "20.0"]
    assert [c.strip("*") for c in lorsu] == ["58.0", "100.0", "100.0", "100.0", "60.0"]
    assert ft == ["40.0", "–", "–", "–", "**70.0**"]  # missing is "–", never 0
    assert [c.strip("*") for c in body[("minigptv2", "LoRSU")]] == ["50.0", "–", "–", "–", "40.0"]


def test_bold_marks_the_true_best_per_vlm_including_ties(paper_runs):
    tables = build_tables(load(paper_runs))
    (t,) = tables
    col = {c.title: j for j, c in enumerate(t.columns)}
    llava, mgv2 = t.groups
    assert [r.label for r in llava.rows] == ["zero-shot", "LoRSU", "FT"]  # baseline first
    bold = {(r.label, c): r.cells[j].bold for r in llava.rows for c, j in col.items()}
    assert bold[("zero-shot", "VSR")] and not bold[("LoRSU", "VSR")] and not bold[("FT", "VSR")]
    assert bold[("FT", "TSI")] and not bold[("LoRSU", "TSI")]
    assert bold[("LoRSU", "HM AUROC")] and not bold[("zero-shot", "HM AUROC")]
    assert not bold[("FT", "HM AUROC")]  # a missing cell is never best
    assert all(r.cells[col["VSR"]].bold for r in mgv2.rows)  # 50.0 = 50.0: both marked
    for g in t.groups:  # bold iff equal to the column maximum within the group
        for j in range(len(t.columns)):
            vals = [r.cells[j].value for r in g.rows if r.cells[j].value is not None]
            for r in g.rows:
                if r.cells[j].value is not None and len(vals) > 1:
                    assert r.cells[j].bold == (round(r.cells[j].value, 1) == round(max(vals), 1))


def test_delta_and_ci_are_hand_computed(paper_runs):
    md = render(build_tables(load(paper_runs), ci=True, delta=True), "md")
    _, body = grid(md)
    low, high = proportion_confint(30, 50, alpha=0.05, method="wilson")  # 60% of 50 items
    assert body[("llava", "zero-shot (baseline)")][0] == f"**60.0** [{100 * low:.1f}, {100 * high:.1f}]"
    assert body[("llava", "LoRSU")][4].endswith("(+40.0)")
    assert body[("llava", "FT")][0].endswith("(-20.0)")
    assert body[("llava", "FT")][1] == "–"
    assert "(" not in body[("llava", "zero-shot (baseline)")][4]  # no Δ on the baseline row
    assert body[("minigptv2", "LoRSU")][4].endswith("(+10.0)")  # vs its own VLM's baseline


def test_auroc_ci_comes_from_a_bootstrap_of_the_samples(paper_runs):
    (t,) = build_tables(load(paper_runs), ci=True)
    j = [c.title for c in t.columns].index("HM AUROC")
    zs = t.groups[0].rows[0].cells[j]
    assert zs.ci_method == "bootstrap" and 0 <= zs.ci_low < zs.value < zs.ci_high <= 100


@pytest.mark.parametrize("k, n", [(60, 60), (0, 60), (59, 60), (1, 7), (30, 50)])
def test_ci_is_wilson_as_statsmodels_and_stays_in_0_100(tmp_path, k, n):
    """Wald (p ± 1.96·SE) has zero width at 60/60 and passes 100% at 59/60; Wilson does neither."""
    run = load_run(write_run(tmp_path, "r", {"tsi": mc_samples("tsi", pattern(n, k))}))
    (t,) = build_tables([run], ci=True)
    cell = t.groups[0].rows[0].cells[0]
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert cell.ci_method == "Wilson"
    assert cell.ci_low == pytest.approx(100 * low, abs=1e-9) and cell.ci_high == pytest.approx(100 * high, abs=1e-9)
    assert 0 <= cell.ci_low < cell.ci_high <= 100
    md = render([t], "md")
    assert f"[{100 * low:.1f}, {100 * high:.1f}]" in md and "Wilson score for proportions" in md


def test_vqa_accuracy_ci_is_a_percentile_bootstrap_of_the_item_scores(tmp_path):
    answers = [["cat"] * 10] * 9 + [["cat"] * 2 + ["dog"] * 8]  # the last item scores between 0 and 1
    samples = vizwiz_samples(answers, [["cat", "dog"]] * 10, [0] * 10)
    run = load_run(write_run(tmp_path, "r", {"vizwiz": samples}))
    (t,) = build_tables([run], ci=True, n_boot=500, seed=3)
    cell = t.groups[0].rows[0].cells[0]
    scores = np.array([vqa_accuracy("cat", a) for a in answers])
    assert 0 < scores[-1] < 1
    rng = np.random.default_rng(3)
    means = [scores[rng.integers(0, 10, 10)].mean() for _ in range(500)]
    low, high = np.quantile(means, [0.025, 0.975])
    assert cell.ci_method == "bootstrap"
    assert cell.ci_low == pytest.approx(100 * low) and cell.ci_high == pytest.approx(100 * high) and high <= 1


def test_significance_flags_follow_mcnemar(paper_runs):
    (t,) = build_tables(load(paper_runs), significance=True)
    j = [c.title for c in t.columns].index("TSI")
    base = t.groups[0].rows[0].run
    seen = set()
    for row in t.groups[0].rows[1:]:
        a = {s["id"]: s["correct"] for s in base.samples("tsi")}
        b = {s["id"]: s["correct"] for s in row.run.samples("tsi")}
        table = [
            [sum(a[i] and b[i] for i in a), sum(a[i] and not b[i] for i in a)],
            [sum(b[i] and not a[i] for i in a), sum(not a[i] and not b[i] for i in a)],
        ]
        p = sm_mcnemar(table, exact=True).pvalue
        assert row.cells[j].p_value == pytest.approx(p)
        assert row.cells[j].significant == (p < 0.05)
        seen.add(row.cells[j].significant)
    j = [c.title for c in t.columns].index("VSR")
    assert t.groups[0].rows[1].cells[j].significant is False  # 60 vs 58: not significant
    assert "†" in render([t], "md") and True in seen


def test_baseline_by_label_and_by_directory(paper_runs, tmp_path):
    runs = load(paper_runs)
    (t,) = build_tables(runs, baseline="LoRSU", delta=True)
    assert [r.label for r in t.groups[0].rows if r.is_baseline] == ["LoRSU"]
    j = [c.title for c in t.columns].index("TSI")
    zs = next(r for r in t.groups[0].rows if r.label == "zero-shot")
    assert zs.cells[j].delta == pytest.approx(-40.0)
    (t,) = build_tables(runs, baseline=str(paper_runs["llava-ft"]), delta=True)
    assert [r.label for r in t.groups[0].rows if r.is_baseline] == ["FT"]
    assert not any(r.is_baseline for r in t.groups[1].rows)  # FT is llava's only
    with pytest.raises(ValueError, match="neither a given run directory nor a run label"):
        build_tables(runs, baseline="nobody")


def test_task_columns_follow_the_paper_order_then_alphabetical():
    names = ["zzz", "gts", "mcq_jsonl", "tsi", "dalle", "hm", "vizwiz", "vsr"]
    assert sorted(names, key=task_sort_key) == ["vsr", "vizwiz", "hm", "dalle", "tsi", "gts", "mcq_jsonl", "zzz"]


def test_dalle_title_and_unknown_tasks(tmp_path):
    p = write_run(
        tmp_path,
        "r",
        {"mcq_jsonl": mc_samples("mcq_jsonl", [True, False]), "dalle": mc_samples("dalle", [True, True, False, False])},
    )
    header, body = grid(render(build_tables([load_run(p)]), "md"))
    assert header[2:] == ["DA·E", "mcq\\_jsonl"]  # underscores escaped for Markdown
    assert body[("llava", "zero-shot (baseline)")] == ["50.0", "50.0"]  # one row: nothing to bold


def test_refuses_different_item_sets_and_names_them(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(50, 10)), "vsr": mc_samples("vsr", [True] * 4)})
    b = write_run(
        tmp_path,
        "b",
        {"tsi": mc_samples("tsi", pattern(40, 10)), "vsr": mc_samples("vsr", [True] * 4)},
        encoder="x.pt",
        label="run-B",
    )
    runs = [load_run(a), load_run(b)]
    with pytest.raises(ValueError, match="did not see the same items") as e:
        build_tables(runs)
    msg = str(e.value)
    assert "tsi: item set" in msg and "vsr" not in msg and "--force" in msg
    assert "in zero-shot" in msg and "in run-B" in msg
    (t,) = build_tables(runs, force=True)
    assert any("tsi: item set" in n for n in t.notes)


@pytest.mark.parametrize(
    "change,expected",
    [
        (dict(limit=10), "limit differs"),
        (dict(versions={"tsi": "1.p2"}), "task version (data/prompt) differs"),
        (dict(prompt_style="text"), "prompt style differs"),
    ],
)
def test_refuses_other_differences(tmp_path, change, expected):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 5))})
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(20, 5))}, encoder="x.pt", **change)
    with pytest.raises(ValueError, match="did not see the same items") as e:
        build_tables([load_run(a), load_run(b)])
    assert f"tsi: {expected}" in str(e.value)


def test_across_vlms_option_words_may_differ_but_items_may_not(tmp_path):
    llava = mc_samples("gts", [True, False, True])
    mgv2 = mc_samples("gts", [True, True, True])
    for s in mgv2:
        s["continuations"] = [c.lower() + "!" for c in s["continuations"]]  # other option words, same items
    a = write_run(tmp_path, "a", {"gts": llava})
    b = write_run(tmp_path, "b", {"gts": mgv2}, vlm="minigptv2")
    assert len(build_tables([load_run(a), load_run(b)])[0].groups) == 2
    other = mc_samples("gts", [True, True, True], ids=["x1", "x2", "x3"])
    c = write_run(tmp_path, "c", {"gts": other}, vlm="minigptv2")
    with pytest.raises(ValueError, match="item set across VLMs"):
        build_tables([load_run(a), load_run(c)])


def test_clip_records_get_their_own_table(tmp_path, paper_runs):
    from tests.harness.report.fixtures import clip_samples

    z = write_run(tmp_path, "clip-zs", {"tsi": clip_samples("tsi", pattern(10, 3), pattern(10, 6))}, vlm="clip")
    lorsu = write_run(
        tmp_path,
        "clip-l",
        {"tsi": clip_samples("tsi", pattern(10, 5), pattern(10, 6, 2))},
        vlm="clip",
        encoder="l.pt",
        label="LoRSU",
    )
    tables = build_tables(load(paper_runs) + [load_run(z), load_run(lorsu)], delta=True)
    assert [t.title for t in tables] == ["VQA", "CLIP classification"]
    clip = tables[1]
    assert [c.title for c in clip.columns] == ["TSI top-1", "TSI top-5"]
    header, body = grid(render([clip], "md"))
    assert body[("clip", "zero-shot (baseline)")] == ["30.0", "**60.0**"]
    assert body[("clip", "LoRSU")] == ["**50.0** (+20.0)", "**60.0** (+0.0)"]


def test_no_baseline_means_no_delta(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 5))}, encoder="a.pt", label="A")
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(20, 8))}, encoder="b.pt", label="B")
    (t,) = build_tables([load_run(a), load_run(b)], delta=True)
    assert all(c.delta is None for g in t.groups for r in g.rows for c in r.cells)
    assert any("no baseline" in n for n in t.notes)


def test_other_choice_texts_behind_the_same_letters_are_refused(tmp_path):
    # options-style continuations are letters, so only the prompt (which lists the options) shows the change
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 5), prompt="A. walk B. sit")})
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(20, 5), prompt="A. cook B. read")}, encoder="b.pt")
    with pytest.raises(ValueError, match=r"tsi: prompt texts \(llava: questions, options\) differs"):
        build_tables([load_run(a), load_run(b)])


def test_other_choice_sets_change_the_item_set(tmp_path):
    a_samples = mc_samples("gts", pattern(20, 5))
    b_samples = mc_samples("gts", pattern(20, 5))
    b_samples[3]["choices"] = ["a", "b", "c", "d"]
    a = write_run(tmp_path, "a", {"gts": a_samples})
    b = write_run(tmp_path, "b", {"gts": b_samples}, encoder="b.pt")
    with pytest.raises(ValueError, match=r"gts: item set \(llava: ids, choices, answers\) differs"):
        build_tables([load_run(a), load_run(b)])


def test_split_keys_are_their_own_columns(tmp_path):
    p = write_run(
        tmp_path,
        "r",
        {
            "vsr:zeroshot": mc_samples("vsr:zeroshot", [True, False]),
            "tsi": mc_samples("tsi", [True]),
            "vsr": mc_samples("vsr", [False, False]),
        },
    )
    (t,) = build_tables([load_run(p)])
    assert [c.title for c in t.columns] == ["VSR", "VSR (zeroshot)", "TSI"]
    assert [c.value for c in t.groups[0].rows[0].cells] == [0.0, 50.0, 100.0]


def test_likelihood_and_generate_runs_are_not_mixed_silently(tmp_path):
    a = write_run(tmp_path, "a", {"tsi": mc_samples("tsi", pattern(20, 5))})
    b = write_run(tmp_path, "b", {"tsi": mc_samples("tsi", pattern(20, 5))}, encoder="b.pt", mode="generate")
    with pytest.raises(ValueError, match="tsi: scoring mode differs"):
        build_tables([load_run(a), load_run(b)])


def test_points_metrics_are_shown_unscaled_and_the_caption_says_so(tmp_path):
    p = write_run(tmp_path, "r", {"mme": mc_samples("mme", [True, False]), "pope": mc_samples("pope", [True, True])})
    rec = json.loads((p / "results.json").read_text())
    rec["tasks"]["mme"]["metrics"] = {"perception": {"value": 612.5, "stderr": None}, "cognition": {"value": 95.0}}
    rec["tasks"]["pope"]["metrics"] = {"acc": {"value": 1.0, "stderr": 0.0}, "f1": {"value": 0.8, "stderr": None}}
    (p / "results.json").write_text(json.dumps(rec))
    md = render(build_tables([load_run(p)]), "md")
    header, body = grid(md)
    assert header[2:] == ["POPE F1", "POPE acc", "MME perception", "MME cognition"]
    assert body[("llava", "zero-shot (baseline)")] == ["80.0", "100.0", "612.5", "95.0"]
    assert "primary metric in % (MME perception, MME cognition in official points)" in md

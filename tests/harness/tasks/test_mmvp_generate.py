"""MMVP in generative mode: LoRSU's eval_mmvpvqa rule on the cases its substring tests create, the same rule with
whole words, the harness's parsing, the three accuracies and pair accuracies by hand, and `harness eval --mode
generate`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.mmvp import build, official_choice, official_choice_fixed, parse_choice
from tests.harness.tasks.fixtures_mmvp import build_mmvp, pairs_both_right, sample

OFFICIAL_CASES = [
    ("Yes", 0),
    ("yes, it is open", 0),
    ("No", 1),
    ("not sure", 1),  # "no" inside "not"
    ("I don't know", 1),  # "no" inside "know"
    ("None of them", 1),  # "No" inside "None"
    ("(a) Snow", 1),  # "no" inside "Snow" wins over the (a) marker
    ("(a) Left, not right", 1),
    ("(b) Closed", 1),
    ("The answer is (a)", 0),
    ("A", 0),
    ("b", 1),
    ("b)", 1),  # read as "(b))", which holds "(b)"
    ("(a", 0),  # read as "((a)"
    ("A.", -1),  # read as "(a.)"
    ("(A)", -1),  # three characters, no lowercase marker
    ("YES", -1),
    ("NO", -1),  # read as "(no)"
    ("", -1),
    ("Closed", -1),
    ("  B  ", 1),  # stripped first
]


@pytest.mark.parametrize(("text", "expected"), OFFICIAL_CASES)
def test_official_generation_rule(text, expected):
    assert official_choice(text) == expected


# the same rule with whole words, case-insensitive
OFFICIAL_FIXED_CASES = [
    ("not sure", -1),
    ("I don't know", -1),
    ("None of them", -1),
    ("(a) Snow", 0),
    ("(a) Left, not right", 0),
    ("No, it is not", 1),
    ("YES", 0),
    ("yes, not no", 0),  # yes first, as LoRSU's order
    ("(A)", 0),
    ("A.", 0),
    ("b)", 1),
    ("ab", -1),
    ("", -1),
]


@pytest.mark.parametrize(("text", "expected"), OFFICIAL_FIXED_CASES)
def test_official_rule_with_whole_words(text, expected):
    assert official_choice_fixed(text) == expected


PARSE_CASES = [
    ("not sure", ("Open", "Closed"), -1),
    ("(a) Snow", ("Snow", "Grass"), 0),
    ("(a) Left, not right", ("Left", "Right"), 0),
    ("(A)", ("Open", "Closed"), 0),
    ("A.", ("Open", "Closed"), 0),
    ("b)", ("Open", "Closed"), 1),
    ("Yes", ("Open", "Closed"), -1),
    ("Yes", ("Yes", "No"), 0),
    ("No, it is not.", ("Yes", "No"), 1),
    ("Closed.", ("Open", "Closed"), 1),
    ("It is open, not closed", ("Open", "Closed"), -1),
    ("I don't know", ("Yes", "No"), -1),
]


@pytest.mark.parametrize(("text", "choices", "expected"), PARSE_CASES)
def test_harness_parsing_of_generations(text, choices, expected):
    assert parse_choice(text, choices) == expected


def test_generation_metrics_by_hand(tmp_path):
    task = build(path=build_mmvp(tmp_path / "mmvp"))
    gens = {  # (parse, official, official with whole words) right?
        "1": "(a) Open",  # yes yes yes
        "2": "Closed",  # yes, -1, -1
        "3": "I do not know",  # -1, (b), -1: none right
        "4": "B",
        "5": "(b) Right",
        "6": "(a) Left, not right",  # yes, (b) through "not", yes
        "7": "Yes",
        "8": "No",
        "99": "A",
        "100": "(b) Short",
        "279": "(a) Standing",
        "280": "Sitting, not standing",  # both options named: -1; (b) through "not": right; -1
        "299": "(A)",  # yes, -1, yes
        "300": "b)",
    }
    samples = []
    for it in task.items():
        text = gens[it.id]
        samples.append(sample(it, task.extract_answer(it, text), generation=text, choices=list(it.choices)))
    assert [s["pred"] for s in samples] == [0, 1, -1, 1, 1, 0, 0, 1, 0, 1, 0, -1, 0, 1]
    m = task.metrics(samples)
    assert set(m) == {f"{p}acc{r}" for p in ("", "pair_") for r in ("", "_official", "_official_fixed")}
    assert m["acc"].value == 12 / 14 and m["acc_official"].value == 10 / 14 and m["acc_official_fixed"].value == 11 / 14
    # pairs both right — parse: 1, 3, 4, 50, 150; official: 4, 50, 140; whole words: 3, 4, 50, 150
    assert m["pair_acc"].value == 5 / 7 and m["pair_acc_official"].value == 3 / 7
    assert m["pair_acc_official_fixed"].value == 4 / 7


def test_cli_end_to_end_generate(tiny_llava_dir, tmp_path):
    build_mmvp(tmp_path / "data" / "mmvp")
    args = ["eval", "--tasks", "mmvp", "--data-root", str(tmp_path / "data"), "--model", str(tiny_llava_dir)]
    args += ["--device", "cpu", "--mode", "generate", "--max-new-tokens", "3", "--limit", "4"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == 0, res.output
    rec = json.loads((tmp_path / "run" / "results.json").read_text())["tasks"]["mmvp"]
    samples = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert rec["n"] == 4 and all("(a) " in s["prompt"] and "generation" in s for s in samples)
    assert [s["pred"] for s in samples] == [parse_choice(s["generation"], s["choices"]) for s in samples]
    assert rec["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in samples) / 4
    for name, rule in (("official", official_choice), ("official_fixed", official_choice_fixed)):
        right = {s["id"]: rule(s["generation"]) == s["answer"] for s in samples}
        assert rec["metrics"][f"acc_{name}"]["value"] == sum(right.values()) / 4
        assert rec["metrics"][f"pair_acc_{name}"]["value"] == pairs_both_right(right)

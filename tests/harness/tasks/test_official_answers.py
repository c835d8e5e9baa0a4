"""LoRSU's own scoring of generated answers (src/llava/eval/eval_vqa_utils.py), reported as `acc_official` next to
the harness's `acc`. Every expected outcome below was derived by reading that code (strip, the dict_letters
lookup, GTSRB's form list and its "X." loop over A…E, VSR's `label in answer.lower()`, Hateful Memes'
`lower().strip().replace(".", "")`), not by running it."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.tasks.dalle import Dalle
from harness.tasks.gts import Gtsrb
from harness.tasks.hateful_memes import HatefulMemes
from harness.tasks.official_answers import (
    gtsrb_letter,
    gtsrb_letter_fixed,
    letter_exact,
    official_metrics,
    true_false_fixed,
    true_false_substring,
    yes_no_exact,
)
from harness.tasks.tsi import ToyotaSmarthomeImages
from harness.tasks.vsr import Vsr
from tests.harness.tasks.fixtures import (
    build_all_fixtures,
    build_dalle_flat,
    build_gtsrb_ini,
    build_hm,
    build_tsi_frames,
    build_vsr,
)

# TSI / DA·E / Aircraft / EuroSAT / CounterAnimal: `answer in dict_letters` after strip()
LETTER_EXACT = {
    "A": 0,
    " B \n": 1,
    "E": 4,
    "A.": -1,
    "(A)": -1,
    "a": -1,
    "a.": -1,
    "The answer is A": -1,
    "F": -1,
    "": -1,
    "AB": -1,
    "x": -1,
    "X.": -1,
}
# GTSRB: the list ("a"…"e", "a."…"e.", "B."…"E.") → upper()[0], then dict_letters, then the first k in A…E with "k."
GTSRB = {
    "A": 0,
    "a": 0,
    "e": 4,
    "a.": 0,
    "A.": 0,  # missing from the list ("a." is written twice), found by the "X." loop
    "B.": 1,
    " c. ": 2,
    "The answer is C.": 2,
    "B. A.": 0,  # the loop goes A…E, not left to right
    "E. Stop, not A.": 0,
    "ROAD.": 3,  # "D." inside a word
    "U.S.A.": 0,
    "(A)": -1,
    "A)": -1,
    "(a)": -1,
    "b.)": -1,
    "The answer is A": -1,
    "F.": -1,
    "x": -1,
    "X.": -1,
    "": -1,
}
GTSRB_FIXED = {**GTSRB, "B. A.": 1, "E. Stop, not A.": 4, "ROAD.": -1, "U.S.A.": -1}
# VSR: the answers counted correct (0 true, 1 false) by `label in answer.strip().lower()`
VSR = {
    "True": {0},
    "true.": {0},
    "FALSE": {1},
    "The statement is false.": {1},
    "It is not true": {0},
    "untrue": {0},
    "True or false?": {0, 1},
    "Yes": set(),
    "": set(),
}
VSR_FIXED = {
    "True": 0,
    "true.": 0,
    "FALSE": 1,
    "The statement is false.": 1,
    "It is not true": 0,
    "untrue": -1,
    "True or false?": -1,
    "TRUE, true": 0,
    "Yes": -1,
    "": -1,
}
# Hateful Memes: answer.strip().lower().strip().replace(".", "") == "yes" / "no"
HM = {
    "yes": 0,
    "Yes": 0,
    "Yes.": 0,
    " YES.\n": 0,
    "y.e.s": 0,
    "No": 1,
    "no.": 1,
    "no...": 1,
    "yes .": -1,  # stripped before the dots go, so "yes " remains
    "Yes, it is hateful.": -1,
    "Yes!": -1,
    "Nope": -1,
    "A": -1,
    "": -1,
}


@pytest.mark.parametrize(
    "rule, cases",
    [(letter_exact, LETTER_EXACT), (gtsrb_letter, GTSRB), (gtsrb_letter_fixed, GTSRB_FIXED)]
    + [(true_false_fixed, VSR_FIXED), (yes_no_exact, HM)],
    ids=["letter_exact", "gtsrb", "gtsrb_fixed", "vsr_fixed", "hm"],
)
def test_each_rule_on_the_codes_edge_cases(rule, cases):
    assert {t: rule(t) for t in cases} == cases


def test_vsr_substring_rule():
    assert {t: {a for a in (0, 1) if true_false_substring(t, a)} for t in VSR} == VSR


def _gen(answer: int, text: str, **kw) -> dict:
    return {"id": text, "answer": answer, "meta": {}, "error": None, "pred": -1, "generation": text, **kw}


def test_official_metrics_count_the_scored_generations():
    samples = [_gen(0, "A"), _gen(1, "B"), _gen(2, "C."), _gen(3, "(D)"), _gen(4, "E")]
    samples += [_gen(0, "A", error="image not found"), _gen(-1, "A")]  # neither is scored
    m = official_metrics(
        samples, {"exact": lambda t, a: letter_exact(t) == a, "gtsrb": lambda t, a: gtsrb_letter(t) == a}
    )
    assert m["exact"].value == 3 / 5 and m["gtsrb"].value == 4 / 5
    assert m["exact"].stderr == pytest.approx(math.sqrt((3 * 0.4**2 + 2 * 0.6**2) / 4 / 5))
    likelihood = [{k: v for k, v in s.items() if k != "generation"} for s in samples]
    assert official_metrics(likelihood, {"exact": lambda t, a: True}) == {}


def _samples(task, text_of) -> list[dict]:
    """A generative sample per item, its text made from the answer, `pred` from the harness's own parsing."""
    out = []
    for it in task.items():
        text = text_of(it.answer)
        out.append(_gen(it.answer, text, meta=it.meta, id=it.id, pred=task.extract_answer(it, text)))
    return out


def test_letter_tasks_report_both_parsings(tmp_path):
    gts = Gtsrb(build_gtsrb_ini(tmp_path / "g"))
    tsi = ToyotaSmarthomeImages(build_tsi_frames(tmp_path / "t"))
    dalle = Dalle(build_dalle_flat(tmp_path / "d", per_class=1))
    for task in (gts, tsi, dalle):
        m = {k: v.value for k, v in task.metrics(_samples(task, lambda a: "ABCDE"[a] + ".")).items()}
        # "X." is right for the harness and for GTSRB's rule, wrong for the exact-letter rule of the others
        assert m["acc_official"] == (1.0 if task is gts else 0.0)
        assert m["acc"] == 1.0
        bare = {k: v.value for k, v in task.metrics(_samples(task, lambda a: "ABCDE"[a])).items()}
        assert bare["acc_official"] == 1.0
        assert set(bare) == ({"acc", "acc_official", "acc_official_fixed"} if task is gts else {"acc", "acc_official"})
    wrong_first = _samples(gts, lambda a: f"{'ABCDE'[a]}. not {'ABCDE'[(a + 1) % 5]}.")
    m = gts.metrics(wrong_first)
    n = len(wrong_first)
    # the code takes the alphabetically first "X.": right only where the answer's letter comes first (not E)
    assert m["acc_official"].value == sum(s["answer"] != 4 for s in wrong_first) / n
    assert m["acc_official_fixed"].value == 1.0
    likelihood = [{**s, "logprobs": [0.0] * 5, "pred_norm": 0} for s in wrong_first]
    for s in likelihood:
        del s["generation"]
    assert set(gts.metrics(likelihood)) == {"acc", "acc_norm"}


def test_vsr_and_hm_official_rules(tmp_path):
    vsr = Vsr(build_vsr(tmp_path / "v"))
    n_true = sum(it.answer == 0 for it in vsr.items())
    n = len(list(vsr.items()))
    assert 0 < n_true < n
    m = vsr.metrics(_samples(vsr, lambda a: "true or false"))
    assert m["acc_official"].value == 1.0 and m["acc_official_fixed"].value == 0.0
    m = vsr.metrics(_samples(vsr, lambda a: "It is not true"))
    assert m["acc_official"].value == m["acc_official_fixed"].value == n_true / n
    hm = HatefulMemes(build_hm(tmp_path / "h"))
    labelled = [it for it in hm.items() if it.answer >= 0]
    m = hm.metrics(_samples(hm, lambda a: "Yes."))
    assert m["acc_official"].value == sum(it.answer == 0 for it in labelled) / len(labelled)
    assert hm.metrics(_samples(hm, lambda a: ["yes .", "No"][a]))["acc_official"].value == sum(
        it.answer == 1 for it in labelled
    ) / len(labelled)


# the scripted generations of the end-to-end run and, per rule, the answers each is counted correct for
SCRIPT = ["A", "b.", "B. A.", "(C)", "It is not true", "true or false", "untrue", "Yes.", "yes .", "No"]
ACCEPT = {
    ("tsi", "acc_official"): {"A": {0}},
    ("gts", "acc_official"): {"A": {0}, "b.": {1}, "B. A.": {0}},
    ("gts", "acc_official_fixed"): {"A": {0}, "b.": {1}, "B. A.": {1}},
    ("vsr", "acc_official"): {"It is not true": {0}, "true or false": {0, 1}, "untrue": {0}},
    ("vsr", "acc_official_fixed"): {"It is not true": {0}},
    ("hm", "acc_official"): {"Yes.": {0}, "No": {1}},
}


def test_generate_mode_end_to_end(tiny_llava_dir, tmp_path, monkeypatch):
    """`harness eval --mode generate` on the tiny LLaVA: the model generates, its text is then replaced by the
    script (the samples keep it), and results.json holds acc and acc_official as counted by hand."""
    from harness.adapters.llava import LlavaAdapter

    real, script = LlavaAdapter.generate, itertools.cycle(SCRIPT)

    def scripted(self, images, contexts, max_new_tokens):
        return [next(script) for _ in real(self, images, contexts, max_new_tokens)]

    monkeypatch.setattr(LlavaAdapter, "generate", scripted)
    build_all_fixtures(tmp_path / "data")
    out = tmp_path / "run"
    args = ["eval", "--tasks", "gts,tsi,vsr,hm", "--data-root", str(tmp_path / "data"), "--model", str(tiny_llava_dir)]
    args += ["--device", "cpu", "--mode", "generate", "--max-new-tokens", "2", "--limit", "10", "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--quiet"])
    assert res.exit_code == 0, res.output
    tasks = json.loads((out / "results.json").read_text())["tasks"]
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    for key in ("gts", "tsi", "vsr", "hm"):
        mine = [s for s in samples if s["task"] == key and s["answer"] >= 0]
        assert len(mine) == 10 and sorted(s["generation"] for s in mine) == sorted(SCRIPT)
        assert tasks[key]["metrics"]["acc"]["value"] == sum(s["pred"] == s["answer"] for s in mine) / 10
        for (task, metric), accept in ACCEPT.items():
            if task == key:
                want = sum(s["answer"] in accept.get(s["generation"], set()) for s in mine) / 10
                assert tasks[key]["metrics"][metric]["value"] == pytest.approx(want), (key, metric)
    assert tasks["vsr"]["metrics"]["acc_official"]["value"] >= 0.1  # "true or false" is right for either label
    assert tasks["vsr"]["metrics"]["acc_official"]["value"] > tasks["vsr"]["metrics"]["acc_official_fixed"]["value"]

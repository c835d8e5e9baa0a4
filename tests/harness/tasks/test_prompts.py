"""Prompt snapshots: a rendered prompt may change only together with its task's prompt version.

After an intended change, bump `PROMPTS.version` in the task module and refresh the snapshot with
`HARNESS_UPDATE_PROMPT_SNAPSHOTS=1 python -m pytest tests/harness/tasks/test_prompts.py`.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.tasks import (
    aircraft,
    counteranimal,
    dalle,
    eurosat,
    gts,
    hateful_memes,
    mmbench,
    mme,
    mmvp,
    pope,
    scienceqa,
    seed_bench,
    tsi,
    visonlyqa,
    vizwiz,
    vsr,
)
from harness.tasks.base import Item
from harness.tasks.prompts import PromptSet

SNAPSHOT = Path(__file__).parent / "prompt_snapshots.json"
ACTIONS = ("walking", "eating", "holding a cup", "sitting down", "reading a book")
SIGNS = (
    "stop",
    "white and yellow diamond priority road",
    "red and white circle 30 kph speed limit",
    "empty red and white circle",
    "blue circle with white keep right arrow mandatory",
)
CASES: dict[str, tuple[PromptSet, Item]] = {
    "tsi": (tsi.PROMPTS, Item("Walk_p02_r00_v05_c03", "x.jpg", tsi.QUESTION, ACTIONS, 0)),
    "gts": (gts.PROMPTS, Item("00000", "x.ppm", gts.QUESTION, SIGNS, 2)),
    "dalle": (dalle.PROMPTS, Item("walking_0", "x.png", dalle.QUESTION, ACTIONS, 0)),
    "vizwiz": (
        vizwiz.PROMPTS,
        Item("VizWiz_val_00000000", "x.jpg", "What's the name of this product?", ("basil", "unanswerable", "coke"), 0),
    ),
    "vsr": (vsr.PROMPTS, Item("000000017697-1aadc082", "x.jpg", "The car is behind the suitcase.", vsr.CHOICES, 0)),
    "hm": (
        hateful_memes.PROMPTS,
        Item("42953", "img/42953.png", "its their character not their color that matters", hateful_memes.CHOICES, 1),
    ),
    "pope": (pope.PROMPTS, Item("random-1", "x.jpg", "Is there a snowboard in the image?", pope.CHOICES, 0)),
    "mme": (
        mme.PROMPTS,
        Item(
            "existence/000000006040/1",
            "x.jpg",
            "Is there a train in this image? Please answer yes or no.",
            mme.CHOICES,
            0,
        ),
    ),
    "mmbench": (
        mmbench.PROMPTS,
        Item("0", "x.tsv#0", "Which of the following is the capital of Ohio?", ("Columbus", "Cleveland", "Toledo"), 0),
    ),
    "mmbench_cn": (mmbench.PROMPTS_CN, Item("0", "x.tsv#0", "图中是什么动物?", ("猫", "狗", "马", "牛"), 0)),
    "seed_bench": (
        seed_bench.PROMPTS,
        Item("101669", "x.jpg", "How many towels are in the image?", ("One", "Two", "Three", "Four"), 0),
    ),
    "scienceqa": (
        scienceqa.PROMPTS,
        Item(
            "5",
            "x.png",
            "Context: Figure: Lake Superior.\nWhich word describes the lake's climate?",
            ("cold", "dry", "tropical"),
            0,
        ),
    ),
    "aircraft": (
        aircraft.PROMPTS,
        Item("1514522", "x.jpg", aircraft.QUESTION, ("707-320", "Cessna 172", "F/A-18", "BAE 146-200", "A380"), 1),
    ),
    "eurosat": (
        eurosat.PROMPTS,
        Item(
            "AnnualCrop_1",
            "x.jpg",
            eurosat.QUESTION,
            ("annual crop land", "forest", "river", "lake or sea", "highway or road"),
            0,
        ),
    ),
    "counteranimal": (
        counteranimal.PROMPTS,
        Item(
            "296/counter-grass/1",
            "x.jpg",
            counteranimal.QUESTION,
            ("polar bear", "brown bear", "Arctic fox", "sea lion", "ice bear"),
            0,
        ),
    ),
    "mmvp": (
        mmvp.PROMPTS,
        Item(
            "1",
            "MMVP Images/1.jpg",
            "Are the butterfly's wings closer to being open or closed?",
            ("Open", "Closed"),
            0,
            {"options": "(a) Open (b) Closed"},
        ),
    ),
    "visonlyqa": (
        visonlyqa.PROMPTS,
        Item(
            "geometry__triangle/visonlyqa_611b0c3d",
            "x.parquet#0",
            "There is no triangle ADP in the figure. True or False?",
            ("True", "False"),
            1,
        ),
    ),
}


def render_all(cases: dict[str, tuple[PromptSet, Item]]) -> dict[str, Any]:
    return {name: prompts.snapshot(item) for name, (prompts, item) in cases.items()}


def snapshot_problems(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """A stored rendering that changed (or vanished) needs a version bump; a new VLM family only a refresh."""
    problems = []
    for name, snap in current.items():
        old = stored.get(name)
        if old is None:
            problems.append(f"{name}: no stored snapshot")
        elif old == snap:
            continue
        elif old["version"] != snap["version"]:
            problems.append(f"{name}: version {old['version']} -> {snap['version']}; refresh the snapshot")
        elif any(snap.get(k) != v for k, v in old.items()):
            problems.append(f"{name}: rendered prompts changed without a version bump (still {snap['version']})")
        else:
            added = sorted({k.split("/")[0] for k in snap if k not in old})
            problems.append(f"{name}: new VLM families {added}; refresh the snapshot")
    return problems


def test_prompts_match_the_snapshot():
    current = render_all(CASES)
    if os.environ.get("HARNESS_UPDATE_PROMPT_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
    assert snapshot_problems(json.loads(SNAPSHOT.read_text()), current) == []


def test_a_changed_template_is_caught_unless_the_version_moves():
    stored = json.loads(SNAPSHOT.read_text())
    prompts, item = CASES["gts"]
    edited = {
        f: {**modes, "options": modes["options"].replace("directly", "now")} for f, modes in prompts.templates.items()
    }
    changed = render_all({"gts": (replace(prompts, templates=edited), item)})
    assert snapshot_problems(stored, changed) == ["gts: rendered prompts changed without a version bump (still 1)"]
    bumped = render_all({"gts": (replace(prompts, templates=edited, version="2"), item)})
    assert snapshot_problems(stored, bumped) == ["gts: version 1 -> 2; refresh the snapshot"]
    fewer = {"gts": {k: v for k, v in stored["gts"].items() if not k.startswith("llava_next/")}}
    assert snapshot_problems(fewer, {"gts": stored["gts"]}) == [
        "gts: new VLM families ['llava_next']; refresh the snapshot"
    ]
    assert snapshot_problems({"gts": stored["gts"]}, fewer) == [
        "gts: rendered prompts changed without a version bump (still 1)"
    ]


def test_published_instructions():
    snap = render_all(CASES)
    assert snap["vizwiz"]["minigptv2/generate"] == (
        "[vqa] The question is 'What's the name of this product?' Based on the image, answer the question "
        "with a single word or phrase. and reply 'unanswerable' when the provided information is insufficient"
    )
    assert snap["gts"]["llava/options"]["instruction"].endswith(
        "E. blue circle with white keep right arrow mandatory\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert snap["gts"]["llava/options"]["continuations"] == ["A", "B", "C", "D", "E"]
    assert snap["tsi"]["llava/text"] == {"instruction": tsi.QUESTION, "continuations": list(ACTIONS)}
    assert not snap["hm"]["minigptv2/text"]["instruction"].startswith("[vqa]")
    for family in ("llava_next", "llava_onevision"):  # LLaVA-1.5's published prompts and option words
        for task in CASES:
            for mode in ("options", "text", "generate"):
                assert (snap[task][f"{family}/{mode}"] == snap[task][f"llava/{mode}"]) == (
                    task != "vizwiz" or mode == "options"
                )
        assert snap["vizwiz"][f"{family}/generate"] == (
            "What's the name of this product?\nWhen the provided information is insufficient, respond with "
            "'Unanswerable'.\nAnswer the question using a single word or phrase."
        )


def test_blip_family_prompts():
    snap = render_all(CASES)
    assert snap["vizwiz"]["blip2/generate"] == "Question: What's the name of this product? Answer:"
    assert snap["vizwiz"]["instructblip/text"]["instruction"] == (
        "Question: What's the name of this product? Short answer:"
    )
    assert snap["vsr"]["blip2/text"] == {
        "instruction": "Question: Based on the image, is this statement true or "
        "false? The car is behind the suitcase. Answer:",
        "continuations": ["true", "false"],
    }
    assert snap["gts"]["instructblip/options"]["instruction"].startswith("Question: What")
    assert snap["gts"]["instructblip/options"]["instruction"].endswith("directly. Short answer:")
    hm = snap["hm"]["instructblip/generate"]  # already ends with the published "Answer:" cue: not doubled
    assert hm.startswith("Question: This is an image writting") and hm.endswith("Answer yes or no. Answer:")
    assert snap["hm"]["blip2/text"]["continuations"] == ["yes", "no"]


def test_unknown_family_or_style_is_an_error():
    prompts, item = CASES["vsr"]
    with pytest.raises(ValueError, match="unknown VLM family 'blip'"):
        prompts.prompt(item, "blip", "options")
    with pytest.raises(ValueError, match="unknown prompt style 'cot'"):
        prompts.prompt(item, "llava", "cot")

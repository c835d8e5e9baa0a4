"""Every family on its real-geometry model: continuation ids follow lm-eval's boundary rule exactly as lm-eval's
own `HFLM` tokenizes the same (context, continuation) pairs with the real tokenizer, and `harness eval` scores
equal one plain transformers forward per option within 1e-4 (fp32)."""

from __future__ import annotations

import copy
import json

import pytest
from lm_eval.models.huggingface import HFLM
from typer.testing import CliRunner

from harness.cli import app
from harness.eval.engine import Engine, Request, plain_forward_scores
from harness.tasks.base import open_rgb
from harness.toy.real_parts import PUBLISHED
from tests.conftest import random_image

OPTIONS = {
    "multi-word": ("a red circle", "two dogs on a couch", "the stop sign"),
    "non-ASCII": ("café", "Ünïcödé", "日本語", "🦙", "naïve—dash"),
    "leading space": (" spaced", "  double", "none"),
    "punctuation": ("(a)", "-5", "?!", "e.g.", "it's"),
    "digits": ("0", "12", "2026", "3.14"),
    "yes/no": ("yes", "no"),
    "letters": ("A", "B", "C", "D", "E"),
}
QUESTIONS = ("What is shown in this image?", "Which one? ", "Zählen Sie:\n")  # the 2nd and 3rd end in whitespace
SIZES = {"llava_next": (500, 375), "llava_onevision": (400, 300)}  # a few tiles, not the largest grids
# any-resolution prompts are thousands of tokens long and the reference is a full forward per option: the first
# three items (multi-word, non-ASCII, leading-space options) in the text style
ANYRES = ("llava_next", "llava_onevision")


def _hflm(adapter) -> HFLM:
    lm = adapter.model.llama_model if adapter.family == "minigptv2" else adapter.model
    return HFLM(pretrained=lm, tokenizer=copy.deepcopy(adapter.tokenizer), backend="causal", batch_size=1)


@pytest.mark.parametrize("family", sorted(PUBLISHED))
def test_continuations_equal_lm_evals(real_adapter, family):
    """As `harness eval` asks (the task's delimiter, then the option) and as the lm-eval bridge asks (the
    delimiter inside the continuation): the engine's continuation ids are HFLM's `_encode_pair`'s."""
    adapter = real_adapter(family)
    lm = _hflm(adapter)
    engine = Engine(adapter, batch_size=1)
    image = random_image(3).resize(SIZES.get(family, (224, 224)))
    for q in QUESTIONS:
        context = adapter.format_prompt(q)
        for name, options in OPTIONS.items():
            delim = adapter.target_delimiter
            _, ours = engine.tokenize(Request("x", image, context, options, delim))
            _, bridge = engine.tokenize(Request("x", image, context, tuple(delim + o for o in options), ""))
            theirs = [lm._encode_pair(context, delim + o)[1] for o in options]
            assert ours == bridge == theirs, (family, repr(q), name)


@pytest.fixture(scope="module")
def mcq(tmp_path_factory):
    """Items with every option kind, images of several sizes (the any-res families tile them differently)."""
    root = tmp_path_factory.mktemp("real_mcq")
    (root / "images").mkdir()
    rows = []
    for i, (name, options) in enumerate(OPTIONS.items()):
        path = root / "images" / f"q{i}.png"
        random_image(i).resize([(224, 224), (500, 375), (300, 420)][i % 3]).save(path)
        question = QUESTIONS[i % len(QUESTIONS)].strip() or "Which one?"
        rows.append({"id": f"q{i}", "image": f"images/{path.name}", "question": f"{question} ({name})",
                     "choices": list(options), "answer": i % len(options)})  # fmt: skip
    (root / "mcq.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return root / "mcq.jsonl"


@pytest.mark.parametrize("family", sorted(PUBLISHED))
def test_harness_eval_scores_equal_a_plain_forward(real_model, real_adapter, mcq, tmp_path, family):
    """`harness eval` in both prompt styles: every recorded option log-prob equals one plain forward of the
    unmodified model per option (the recorded prompt and continuations re-scored)."""
    paths = real_model(family)
    extra = [a for k, p in paths.items() if k != "model" for a in (f"--{k.replace('_', '-')}", str(p))]
    adapter = real_adapter(family)
    n = 3 if family in ANYRES else len(OPTIONS)
    for style in ("text",) if family in ANYRES else ("text", "options"):
        out = tmp_path / style
        args = ["eval", "--vlm", family, "--model", str(paths["model"]), *extra, "--tasks", f"mcq_jsonl={mcq}"]
        args += ["--prompt-style", style, "--device", "cpu", "--batch-size", "3", "--out", str(out), "--quiet"]
        res = CliRunner().invoke(app, [*args, "--limit", str(n)])
        assert res.exit_code == 0, res.output
        samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
        assert len(samples) == n
        rows = {json.loads(x)["id"]: json.loads(x) for x in mcq.read_text().splitlines()}
        for s in samples:
            image = open_rgb(mcq.parent / rows[s["id"]]["image"])
            req = Request(s["id"], image, s["prompt"], tuple(s["continuations"]), "")
            assert s["logprobs"] == pytest.approx(plain_forward_scores(adapter, req), abs=1e-4), (style, s["id"])

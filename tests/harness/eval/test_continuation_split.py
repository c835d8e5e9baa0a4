"""The prompt/continuation token boundary follows lm-eval's rule, checked on a Llama-style spm tokenizer."""

from __future__ import annotations

import pytest

from harness.eval.engine import split_continuation
from harness.toy.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return train_tokenizer(tmp_path_factory.mktemp("tok"))


def encode(tok):
    return lambda text: tok(text).input_ids


CTX = "USER: <image>\nWhat color is the shape? ASSISTANT:"


def test_is_llama_style(tok):
    pieces = tok.convert_ids_to_tokens(tok("a red circle").input_ids)
    assert pieces[0] == "<s>" and pieces[1].startswith("▁")  # BOS and the ▁ word prefix


@pytest.mark.parametrize("cont", [" red", " dark green", " .red", " , yes", " (a) stop", "  two spaces", " 10"])
def test_split_matches_lm_eval_definition(tok, cont):
    ctx_ids, cont_ids = split_continuation(encode(tok), CTX, cont)
    whole = tok(CTX + cont).input_ids
    assert ctx_ids == tok(CTX).input_ids
    assert cont_ids == whole[len(ctx_ids) :]
    assert len(cont_ids) >= 1
    # the continuation tokens decode back to the option text (spm drops the leading space of a word)
    assert tok.decode(cont_ids).strip() == cont.strip()


def test_trailing_context_whitespace_moves_into_the_continuation(tok):
    a = split_continuation(encode(tok), CTX + " ", "red")
    b = split_continuation(encode(tok), CTX, " red")
    assert a == b
    assert tok.convert_ids_to_tokens(a[1])[0].startswith("▁")


def test_option_starting_with_punctuation_has_no_space_piece(tok):
    _, ids = split_continuation(encode(tok), CTX, ".red")
    pieces = tok.convert_ids_to_tokens(ids)
    assert pieces[0] in (".", "<0x2E>") and "".join(pieces).replace("▁", " ") == ".red"


def test_shared_prefix_is_identical_across_options(tok):
    ctxs = {tuple(split_continuation(encode(tok), CTX, " " + o)[0]) for o in ["A", "B", "dark green", ".x"]}
    assert len(ctxs) == 1


def test_engine_tokenize_equals_the_rule_per_option(tiny_llava):
    from harness.eval.engine import Engine, Request
    from tests.conftest import random_image

    opts = ("red", " dark green", ".star", "A")
    for ctx in (tiny_llava.format_prompt("What color?"), tiny_llava.format_prompt("What color?") + "  "):
        ctx_ids, conts = Engine(tiny_llava).tokenize(Request("x", random_image(0), ctx, opts))
        for opt, ids in zip(opts, conts):
            assert (ctx_ids, ids) == split_continuation(tiny_llava.encode, ctx, " " + opt)

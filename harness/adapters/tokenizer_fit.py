"""A tokenizer must fit the model it is shipped with, checked before any weight is loaded.

A tokenizer of another model (a different vocabulary size, an `<image>` token that is missing or numbered
differently, a pad id that is the image token) does not fail in
transformers: it scores garbage, or crashes deep in a forward. Each mismatch is refused naming both sides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import InvalidInput


class TokenizerMismatch(InvalidInput):
    """The tokenizer in a model directory does not fit the model's config."""


def check_tokenizer_fits(
    model_dir: Path, tokenizer: Any, vocab_rows: int, image_token_id: int | None = None, image_token: str = "<image>"
) -> None:
    """`vocab_rows`: the language model's embedding rows (config vocab_size); `image_token_id`: the config's id of
    the image placeholder (None for families that splice image embeddings without one)."""
    tok_side = f"the tokenizer in {model_dir}"
    cfg_side = f"{Path(model_dir) / 'config.json'}"
    if len(tokenizer) > vocab_rows:
        raise TokenizerMismatch(
            f"{tok_side} has {len(tokenizer)} tokens, but the model embeds only {vocab_rows} (vocab_size in "
            f"{cfg_side}): ids from {vocab_rows} on would index past the embedding. Is it another model's tokenizer?"
        )
    if image_token_id is not None:
        got = tokenizer.convert_tokens_to_ids(image_token)
        if got != image_token_id:
            what = "has no such token" if got in (None, tokenizer.unk_token_id) else f"numbers it {got}"
            raise TokenizerMismatch(
                f"{cfg_side} puts the image at token id {image_token_id} ({image_token!r}), but {tok_side} {what}; "
                "the tokenizer and the model come from different releases"
            )
    pad = tokenizer.pad_token_id  # below vocab_rows: every id of the tokenizer is
    if pad is not None and pad == image_token_id:
        raise TokenizerMismatch(
            f"{tok_side} pads with id {pad}, the image token of {cfg_side}: padding would be read as image positions"
        )

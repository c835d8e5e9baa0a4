"""Tokenizers trained offline on a small corpus: a Llama-style sentencepiece BPE (byte fallback on) and a BERT-style
WordPiece (the Q-Former's)."""

from __future__ import annotations

import io
from pathlib import Path

import sentencepiece as spm
from transformers import BertTokenizerFast, LlamaTokenizer, PreTrainedTokenizerBase

BASE_CORPUS = """\
USER: ASSISTANT: What is shown in the image? Answer with the option's letter from the given choices directly.
A. B. C. D. E. yes no true false Yes No True False unanswerable
ASSISTANT: A ASSISTANT: B ASSISTANT: C ASSISTANT: D ASSISTANT: E ASSISTANT: yes ASSISTANT: no
What color is the shape? What shape is it? Where is the shape? Is there a circle in the image?
a red circle on the left. a green square on the right. a blue triangle at the top. a yellow star at the bottom.
red green blue yellow purple orange black white circle square triangle star cross left right top bottom center
What kind of traffic sign is this? speed limit stop yield no entry priority road give way turn left turn right
The person is drinking from a cup. cutting bread, stirring the pot, walking, reading a book, using a laptop.
Based on the image, is this statement true or false? The cat is on the table. The car is behind the truck.
<s>[INST] <Img><ImageHere></Img> [vqa] The question is 'what is this?' [/INST] unanswerable
This is an image writting. Is this image hateful? Answer yes or no. Answer:
0 1 2 3 4 5 6 7 8 9 10 one two three four five , . ? ! : ; ' " ( ) - / the a an of in on at is are
"""


def train_tokenizer(out_dir: Path, corpus: str = BASE_CORPUS, vocab_size: int = 500) -> PreTrainedTokenizerBase:
    """Train a BPE sentencepiece model like Llama's (▁ word prefix, byte fallback) and save it.

    The tokenizer adds BOS like Llama's and gets `<image>` and `<pad>` as added special tokens, as
    llava-hf's tokenizer has.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [ln for ln in corpus.splitlines() if ln.strip()] * 20
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        add_dummy_prefix=True,
        split_digits=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    spm_dir = out_dir / "_spm"
    spm_dir.mkdir(exist_ok=True)
    (spm_dir / "tokenizer.model").write_bytes(buf.getvalue())
    tok = LlamaTokenizer.from_pretrained(spm_dir, legacy=False, add_bos_token=True, add_eos_token=False)
    tok.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": ["<image>"]})
    return tok


def train_wordpiece_tokenizer(out_dir: Path, corpus: str = BASE_CORPUS) -> PreTrainedTokenizerBase:
    """A lowercase WordPiece tokenizer (BERT's, as the Q-Former's) over the toy corpus' words and characters."""
    words = sorted({w.strip(".,?!:;'\"()").lower() for w in corpus.split()} - {""})
    chars = sorted({c.lower() for c in corpus if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *[f"##{c}" for c in chars], *words]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    return BertTokenizerFast(vocab=str(out_dir / "vocab.txt"), do_lower_case=True)

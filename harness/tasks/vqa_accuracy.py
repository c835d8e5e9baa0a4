"""VizWiz VQA accuracy as the official VizWiz evaluation computes it.

The prediction is normalised (newline/tab → space, strip, punctuation, then number words, articles and
contractions); the ground-truth answers are compared raw, as in the official code. Each of the n answers
is left out in turn (by index), the prediction scores min(1, matches among the other n-1 / 3), and the
item scores the mean. The contraction table is the official one, including its backtick spellings
("dont" → "don`t"), so scores match the official numbers exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
# the official pattern's lookbehind is mistyped as a lookahead "(?!<=\d)"; kept so results match
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
NUMBER_WORDS = {
    "none": "0",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
ARTICLES = frozenset({"a", "an", "the"})

# (word, replacement) pairs of the official table, written as "word=replacement" to keep them readable
_CONTRACTION_PAIRS = """
aint=ain't arent=aren't cant=can't couldve=could've couldnt=couldn't couldn'tve=couldn`t`ve
couldnt`ve=couldn`t`ve didnt=didn`t doesnt=doesn`t dont=don`t hadnt=hadn`t hadnt`ve=hadn`t`ve
hadn'tve=hadn`t`ve hasnt=hasn`t havent=haven`t hed=he`d hed`ve=he`d`ve he`dve=he`d`ve hes=he`s
howd=how`d howll=how`ll hows=how`s Id`ve=I`d`ve I`dve=I`d`ve Im=I`m Ive=I`ve isnt=isn`t itd=it`d
itd`ve=it`d`ve it`dve=it`d`ve itll=it`ll let`s=let`s maam=ma`am mightnt=mightn`t mightnt`ve=mightn`t`ve
mightn`tve=mightn`t`ve mightve=might`ve mustnt=mustn`t mustve=must`ve neednt=needn`t notve=not`ve
oclock=o`clock oughtnt=oughtn`t ow`s`at=`ow`s`at `ows`at=`ow`s`at `ow`sat=`ow`s`at shant=shan`t
shed`ve=she`d`ve she`dve=she`d`ve she`s=she`s shouldve=should`ve shouldnt=shouldn`t
shouldnt`ve=shouldn`t`ve shouldn`tve=shouldn`t`ve somebody`d=somebodyd somebodyd`ve=somebody`d`ve
somebody`dve=somebody`d`ve somebodyll=somebody`ll somebodys=somebody`s someoned=someone`d
someoned`ve=someone`d`ve someone`dve=someone`d`ve someonell=someone`ll someones=someone`s
somethingd=something`d somethingd`ve=something`d`ve something`dve=something`d`ve somethingll=something`ll
thats=that`s thered=there`d thered`ve=there`d`ve there`dve=there`d`ve therere=there`re theres=there`s
theyd=they`d theyd`ve=they`d`ve they`dve=they`d`ve theyll=they`ll theyre=they`re theyve=they`ve
twas=`twas wasnt=wasn`t wed`ve=we`d`ve we`dve=we`d`ve weve=we've werent=weren`t whatll=what`ll
whatre=what`re whats=what`s whatve=what`ve whens=when`s whered=where`d wheres=where's whereve=where`ve
whod=who`d whod`ve=who`d`ve who`dve=who`d`ve wholl=who`ll whos=who`s whove=who've whyll=why`ll
whyre=why`re whys=why`s wont=won`t wouldve=would`ve wouldnt=wouldn`t wouldnt`ve=wouldn`t`ve
wouldn`tve=wouldn`t`ve yall=y`all yall`ll=y`all`ll y`allll=y`all`ll yall`d`ve=y`all`d`ve
y`alld`ve=y`all`d`ve y`all`dve=y`all`d`ve youd=you`d youd`ve=you`d`ve you`dve=you`d`ve youll=you`ll
youre=you`re youve=you`ve
"""
CONTRACTIONS = dict(pair.split("=", 1) for pair in _CONTRACTION_PAIRS.split())


def process_punctuation(text: str) -> str:
    """Drop each punctuation mark when it touches a space (or the text has a digit,digit), else space it."""
    out = text
    drop_all = COMMA_STRIP.search(text) is not None
    for p in PUNCT:
        # the official test looks at the original text, not the partly processed one
        if drop_all or (p + " " in text) or (" " + p in text):
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    # the official call passes re.UNICODE (= 32) positionally, i.e. as count: at most 32 periods go
    return PERIOD_STRIP.sub("", out, count=32)


def process_digit_article(text: str) -> str:
    """Lowercase, number words → digits, drop articles, expand contractions."""
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    return " ".join(CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES)


def normalize_answer(text: str) -> str:
    """The official prediction normalisation."""
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return process_digit_article(process_punctuation(text))


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Mean over the answers left out in turn of min(1, matches among the others / 3); 0..1."""
    if not answers:
        raise ValueError("VQA accuracy needs at least one ground-truth answer")
    pred = normalize_answer(prediction)
    matches = [a == pred for a in answers]
    total = sum(matches)
    return sum(min(1.0, (total - m) / 3) for m in matches) / len(answers)

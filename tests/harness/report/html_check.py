"""Reading a `harness report` page back with the stdlib parser: flip counts, cards, images, references."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image


@dataclass
class Page:
    flips: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)  # (task, run) → kind → count
    cards: list[dict[str, str]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # img src values
    refs: list[str] = field(default_factory=list)  # every src/href value
    notes: list[str] = field(default_factory=list)
    text: str = ""


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.task = ""
        self.run = -1
        self.kind = ""
        self.in_note = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for k in ("src", "href"):
            if k in a:
                self.page.refs.append(a[k])
        if tag == "div" and a.get("id", "").startswith("t-"):
            self.task = a["id"][2:]
        if tag == "div" and "card" in a.get("class", "").split():
            self.page.cards.append(a)
        if tag == "div" and a.get("class") == "note":
            self.in_note = 1
            self.page.notes.append("")
        if tag == "tr":
            self.run = int(a.get("data-run", -1))
        if tag == "td":
            self.kind = a.get("data-kind", "")
        if tag == "img":
            self.page.images.append(a["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.kind = ""
        if tag == "div" and self.in_note:
            self.in_note = 0

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.kind:
            self.page.flips.setdefault((self.task, self.run), {})[self.kind] = int(data)
        if self.in_note:
            self.page.notes[-1] += data


def parse_page(path: Path) -> Page:
    p = _Parser()
    p.feed(Path(path).read_text(encoding="utf-8"))
    p.page.text = "".join(p.texts)
    return p.page


def decode_images(page: Page) -> list[Image.Image]:
    """Every embedded image opened and fully decoded by PIL."""
    out = []
    for src in page.images:
        assert src.startswith("data:image/jpeg;base64,"), src[:40]
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True))) as im:
            im.load()
            out.append(im.copy())
    return out


def assert_self_contained(path: Path) -> None:
    html = Path(path).read_text(encoding="utf-8").lower()
    assert "http://" not in html and "https://" not in html and "@import" not in html and "<link" not in html
    assert "url(" not in html
    for ref in parse_page(path).refs:
        assert ref.startswith(("data:", "#")), ref


def expected_flips(run_dirs: list[Path]) -> dict[tuple[str, int], dict[str, int]]:
    """Flip counts against the first run computed straight from samples.jsonl (pred == answer = right)."""
    right = []
    for d in run_dirs:
        per: dict[str, dict[str, bool]] = {}
        for line in (Path(d) / "samples.jsonl").read_text().splitlines():
            s = json.loads(line)
            if s.get("error") is None and s.get("answer", -1) >= 0 and "pred" in s:
                per.setdefault(s["task"], {})[str(s["id"])] = s["pred"] == s["answer"]
        right.append(per)
    out = {}
    for task, a in right[0].items():
        for j, other in enumerate(right[1:], 1):
            b = other.get(task, {})
            ids = set(a) & set(b)
            out[(task, j)] = {
                "forgotten": sum(a[i] and not b[i] for i in ids),
                "learned": sum(not a[i] and b[i] for i in ids),
                "both_right": sum(a[i] and b[i] for i in ids),
                "both_wrong": sum(not a[i] and not b[i] for i in ids),
            }
    return out

"""The toy world: one coloured shape at a position on a light noisy background.

Two domains share every scene attribute: `control` (filled shapes) and `target` (the same shapes drawn as
outlines — a shift a human reads easily but an encoder trained on filled shapes does not). Everything is
a pure function of (domain, split, index, seed), so items, images and captions are reproducible.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.toy_shapes import COLORS, POSITIONS, SHAPES, draw_shape

DOMAINS = {"control": "filled", "target": "outline"}
SPLITS = {"train": 0, "test": 1}
IMAGE_SIZE = 40
KINDS = ("color", "shape", "position", "yesno")
QUESTIONS = {
    "color": "What color is the shape?",
    "shape": "What shape is in the image?",
    "position": "Where is the shape?",
}


@dataclass(frozen=True)
class Scene:
    domain: str
    split: str
    index: int
    color: str
    shape: str
    position: str

    @property
    def caption(self) -> str:
        return caption(self.color, self.shape, self.position)


def caption(color: str, shape: str, position: str) -> str:
    where = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom"}
    return f"a {color} {shape} {where[position]}"


def _rng(*parts: object) -> random.Random:
    return random.Random(int(hashlib.sha256(repr(parts).encode()).hexdigest()[:16], 16))


def scene(domain: str, split: str, index: int, seed: int = 0) -> Scene:
    if domain not in DOMAINS or split not in SPLITS:
        raise InvalidInput(f"toy world: domain in {list(DOMAINS)}, split in {list(SPLITS)}; got {domain}/{split}")
    # attributes depend on split and index only: both domains show the same scenes
    r = _rng("scene", split, index, seed)
    return Scene(domain, split, index, r.choice(list(COLORS)), r.choice(SHAPES), r.choice(list(POSITIONS)))


def render(s: Scene, seed: int = 0, size: int = IMAGE_SIZE) -> Image.Image:
    return draw_shape(
        s.color, s.shape, s.position, size, _rng("pixels", s.domain, s.split, s.index, seed), DOMAINS[s.domain]
    )


def question(s: Scene, kind: str, seed: int = 0) -> tuple[str, tuple[str, ...], int]:
    """(question, choices, answer index): 4 choices for attributes, yes/no for presence questions."""
    r = _rng("question", s.domain, s.split, s.index, kind, seed)
    if kind == "yesno":
        ask_color = s.color if r.random() < 0.5 else r.choice([c for c in COLORS if c != s.color])
        return f"Is there a {ask_color} shape in the image?", ("yes", "no"), 0 if ask_color == s.color else 1
    truth = {"color": s.color, "shape": s.shape, "position": s.position}[kind]
    pool = {"color": list(COLORS), "shape": list(SHAPES), "position": list(POSITIONS)}[kind]
    distractors = r.sample([c for c in pool if c != truth], 3)
    answer = r.randrange(4)
    return QUESTIONS[kind], tuple(distractors[:answer] + [truth] + distractors[answer:]), answer


def class_names() -> list[str]:
    """Every caption of the world, in a fixed order (used as CLIP classes)."""
    return [caption(c, s, p) for c in COLORS for s in SHAPES for p in POSITIONS]

"""A small synthetic image world: one coloured shape on a light noisy background, with MC questions.

Deterministic from a seed. `style="filled"` is the control domain, `style="outline"` a shifted target.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

COLORS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 200, 30),
    "purple": (140, 50, 170),
}
SHAPES = ("circle", "square", "triangle", "cross")
POSITIONS = {"left": (0.28, 0.5), "right": (0.72, 0.5), "top": (0.5, 0.28), "bottom": (0.5, 0.72)}
QUESTIONS = {
    "color": "What color is the shape?",
    "shape": "What shape is in the image?",
    "position": "Where is the shape?",
}


def draw_shape(
    color: str, shape: str, position: str, size: int, rng: random.Random, style: str = "filled"
) -> Image.Image:
    im = Image.new("RGB", (size, size))
    px = im.load()
    for y in range(size):
        for x in range(size):
            v = 235 + rng.randrange(-12, 13)
            px[x, y] = (v, v, v)
    d = ImageDraw.Draw(im)
    cx, cy = (int(f * size) for f in POSITIONS[position])
    r = size // 5
    fill = COLORS[color] if style == "filled" else None
    outline = COLORS[color]
    width = 1 if style == "filled" else max(2, size // 16)
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        d.ellipse(box, fill=fill, outline=outline, width=width)
    elif shape == "square":
        d.rectangle(box, fill=fill, outline=outline, width=width)
    elif shape == "triangle":
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill, outline=outline, width=width)
    else:
        t = max(1, r // 3)
        d.rectangle((cx - r, cy - t, cx + r, cy + t), fill=fill, outline=outline, width=width)
        d.rectangle((cx - t, cy - r, cx + t, cy + r), fill=fill, outline=outline, width=width)
    return im


def write_mcq_set(out_dir: Path, n: int, seed: int = 0, size: int = 32, style: str = "filled") -> Path:
    """Write `n` images and an `mcq_jsonl` file (4 choices, answer position balanced); returns the file."""
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        color, shape, pos = rng.choice(list(COLORS)), rng.choice(SHAPES), rng.choice(list(POSITIONS))
        kind = ("color", "shape", "position")[i % 3]
        truth = {"color": color, "shape": shape, "position": pos}[kind]
        pool = {"color": list(COLORS), "shape": list(SHAPES), "position": list(POSITIONS)}[kind]
        distractors = rng.sample([c for c in pool if c != truth], 3)
        answer = i % 4
        choices = distractors[:answer] + [truth] + distractors[answer:]
        name = f"images/{style}_{i:04d}.png"
        draw_shape(color, shape, pos, size, rng, style).save(out_dir / name)
        rows.append(
            {"id": f"{style}-{i:04d}", "image": name, "question": QUESTIONS[kind], "choices": choices, "answer": answer}
        )
    path = out_dir / f"{style}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path

"""The toy world generator: deterministic, both domains show the same scenes, questions are answerable."""

from __future__ import annotations

import numpy as np
import pytest

from harness.tasks import toy_scenes
from harness.tasks.registry import build_task
from harness.tasks.toy_shapes import COLORS, POSITIONS, SHAPES


def test_scenes_and_pixels_are_deterministic():
    a, b = toy_scenes.scene("control", "test", 7), toy_scenes.scene("control", "test", 7)
    assert a == b
    assert np.array_equal(np.asarray(toy_scenes.render(a)), np.asarray(toy_scenes.render(b)))
    assert toy_scenes.scene("control", "test", 7, seed=1) != a or toy_scenes.scene("control", "test", 8) != a


def test_domains_share_scenes_but_not_pixels():
    for i in range(20):
        c, t = toy_scenes.scene("control", "train", i), toy_scenes.scene("target", "train", i)
        assert (c.color, c.shape, c.position) == (t.color, t.shape, t.position)
        assert not np.array_equal(np.asarray(toy_scenes.render(c)), np.asarray(toy_scenes.render(t)))


def test_filled_and_outline_differ_the_way_they_should():
    c, t = toy_scenes.scene("control", "test", 3), toy_scenes.scene("target", "test", 3)
    rgb = np.array(COLORS[c.color])

    def colored(s):
        px = np.asarray(toy_scenes.render(s)).reshape(-1, 3).astype(int)
        return int((np.abs(px - rgb).sum(-1) < 30).sum())

    assert colored(t) > 10 and colored(c) > 1.5 * colored(t)  # outline: fewer shape pixels, same colour


@pytest.mark.parametrize("kind", toy_scenes.KINDS)
def test_questions_are_answerable_and_balanced(kind):
    answers, truths = [], 0
    for i in range(200):
        s = toy_scenes.scene("control", "test", i)
        q, choices, answer = toy_scenes.question(s, kind)
        assert len(set(choices)) == len(choices) and 0 <= answer < len(choices)
        answers.append(answer)
        if kind == "yesno":
            asked = q.split(" a ")[1].split(" shape")[0]
            assert (choices[answer] == "yes") == (asked == s.color)
            truths += choices[answer] == "yes"
        else:
            assert choices[answer] == {"color": s.color, "shape": s.shape, "position": s.position}[kind]
    counts = np.bincount(answers)
    assert counts.min() > 0.5 * counts.mean()  # answer positions spread over the options
    if kind == "yesno":
        assert 60 < truths < 140


def test_class_names_cover_every_scene():
    names = toy_scenes.class_names()
    assert len(names) == len(COLORS) * len(SHAPES) * len(POSITIONS) == len(set(names))
    assert all(toy_scenes.scene("target", "test", i).caption in names for i in range(50))


def test_toy_tasks_through_the_registry():
    task = build_task("toy_target:train")
    items = list(task.items())
    assert len(items) == 4000 and items[0].meta["caption"] in toy_scenes.class_names()
    assert task.load_image(items[0]).size == (toy_scenes.IMAGE_SIZE, toy_scenes.IMAGE_SIZE)
    with pytest.raises(ValueError, match="split must be one of"):
        build_task("toy_control:dev")

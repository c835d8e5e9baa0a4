"""FGVC-Aircraft as training data: `harness tune` sees the images cropped as evaluation does (the task's own
loader, read lazily), and the continual draws run over the split file's order, as the released code's."""

from __future__ import annotations

from harness.clip.data import TaskImage, from_task
from harness.tasks.aircraft import build
from harness.tune.sessions import _sample_order
from tests.harness.tasks.fixtures_aircraft import SPLITS, TOP, WIDTH, build_aircraft, top_rgb


def test_training_images_are_cropped_like_evaluation_images(tmp_path):
    task = build(path=build_aircraft(tmp_path / "root").parent, split="trainval")
    data = from_task(task)
    assert all(isinstance(ref, TaskImage) for ref, _ in data.samples)  # opened by the task, not from the path
    for i, item_id in enumerate(data.ids):
        image = data.image(i)
        assert image.size == (WIDTH, TOP)  # the 20-pixel banner cut off
        r, g, b = image.getpixel((WIDTH // 2, TOP - 1))
        assert max(abs(r - top_rgb(item_id)[0]), abs(g - top_rgb(item_id)[1]), abs(b - top_rgb(item_id)[2])) < 12
    assert data.fingerprint() == from_task(task).fingerprint()  # a stable id per image, as for plain files


def test_continual_draws_run_over_the_split_files_order(tmp_path):
    """The task lists items in sha256 order; the official draw indexes torchvision's (the split file's) order."""
    task = build(path=build_aircraft(tmp_path / "root").parent, split="trainval")
    data = from_task(task)
    order = _sample_order(data, data.labels, 0, "aircraft")
    assert [data.ids[i] for i in order] == [image_id for image_id, _ in SPLITS["trainval"]]
    assert [data.ids[i] for i in range(len(data))] != [data.ids[i] for i in order]  # the orders differ here

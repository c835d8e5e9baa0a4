"""Middle-frame extraction with PyAV: which frame, determinism, resume, atomic writes, failures."""

from __future__ import annotations

import pytest
from PIL import Image

from harness.tasks.frames import extract_middle_frames, middle_frame
from tests.harness.tasks.fixtures import write_video


def _level(im: Image.Image) -> int:
    return im.convert("L").getpixel((16, 16))


@pytest.mark.parametrize(
    "n_frames, expected_frame",
    [
        (1, 0),  # one sample at 0 s
        (20, 0),  # last frame at 0.95 s: samples 0 s, 0.5 s → the first (lower middle)
        (21, 10),  # last at 1.0 s: samples 0, 0.5, 1.0 s → 0.5 s = frame 10 at 20 fps
        (41, 20),  # last at 2.0 s: 5 samples → the third, 1.0 s
        (50, 20),  # last at 2.45 s: 5 samples (0..2.0 s) → 1.0 s
    ],
)
def test_middle_sample_at_2fps(tmp_path, n_frames, expected_frame):
    level = _level(middle_frame(write_video(tmp_path / "v.mp4", n_frames=n_frames)))
    assert abs(level - min(8 * expected_frame, 255)) <= 3


def test_extraction_is_deterministic_resumable_and_atomic(tmp_path):
    videos = tmp_path / "mp4"
    for k in range(3):
        write_video(videos / f"Walk_p02_r0{k}_v01_c01.mp4", n_frames=21 + k)
    (videos / "Walk_p02_r09_v01_c01.mp4").write_bytes(b"not a video")
    (videos / "notes.txt").write_text("ignored")
    stats = extract_middle_frames(videos, tmp_path / "out", progress=False)
    assert (stats.videos, stats.written, stats.skipped) == (4, 3, 0)
    assert list(stats.failed) == ["Walk_p02_r09_v01_c01.mp4"]
    first = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert sorted(first) == [f"Walk_p02_r0{k}_v01_c01.jpg" for k in range(3)]  # no temporary files left
    # a second run skips what exists and rewrites a deleted frame identically
    (tmp_path / "out" / "Walk_p02_r01_v01_c01.jpg").unlink()
    again = extract_middle_frames(videos, tmp_path / "out", progress=False)
    assert (again.written, again.skipped) == (1, 2)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == first


def test_names_restrict_the_videos(tmp_path):
    write_video(tmp_path / "mp4" / "a.mp4", n_frames=5)
    write_video(tmp_path / "mp4" / "b.mp4", n_frames=5)
    stats = extract_middle_frames(tmp_path / "mp4", tmp_path / "out", names=["b.mp4\n", "missing.mp4"], progress=False)
    assert stats.written == 1 and list(stats.failed) == ["missing.mp4"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["b.jpg"]


def test_missing_video_folder_names_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="no video folder .*nope.*mp4/ folder"):
        extract_middle_frames(tmp_path / "nope", tmp_path / "out", progress=False)

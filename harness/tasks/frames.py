"""TSI frame extraction: the middle frame of each Toyota Smarthome clip, written as `<video stem>.jpg`.

As in the LoRSU paper, a clip is discretised at 2 frames per second and the middle sample is kept:
with frame times t (seconds from the first frame) and T the last one, the samples are the first frames
at or after k/2 s for k = 0..⌊2T⌋, and the kept one is sample ⌊2T⌋ // 2. Frame times come from the
demuxed packets, so the choice never depends on decoder timing; the chosen frame is then decoded.

Resumable: frames already written are skipped; each frame is written to a hidden temporary file and
renamed into place, so an interrupted run never leaves a partial `.jpg`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from harness.errors import InputNotFound, InvalidInput

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov")


@dataclass
class FrameStats:
    videos: int = 0
    written: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def middle_frame(video: Path, fps: float = 2.0) -> Image.Image:
    """The middle 2-fps sample of a clip as an RGB image (see the module docstring)."""
    import av  # PyAV; imported here so the task registry works without it

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size > 0)
        base = stream.time_base  # read while open: PyAV 18 refuses a closed container's stream attributes
    if not pts:
        raise InvalidInput("no video frames")
    if base is None:
        raise InvalidInput("the video stream has no time base")
    times = [float((p - pts[0]) * base) for p in pts]
    target = (int(times[-1] * fps) // 2) / fps
    # tolerate float rounding of exact multiples of 1/fps
    chosen = next(p for p, t in zip(pts, times) if t >= target - 1e-9)
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.pts is not None and frame.pts >= chosen:
                return frame.to_image().convert("RGB")
    raise InvalidInput(f"frame at pts {chosen} could not be decoded")


def extract_middle_frames(
    videos_dir: Path,
    out_dir: Path,
    names: Iterable[str] | None = None,
    fps: float = 2.0,
    quality: int = 95,
    progress: bool = True,
) -> FrameStats:
    """Write `out_dir/<stem>.jpg` for every video in `videos_dir` (or only `names`); returns the counts.

    A video that cannot be read is listed in `failed` with the reason, and the others go on.
    """
    videos_dir, out_dir = Path(videos_dir), Path(out_dir)
    if not videos_dir.is_dir():
        raise InputNotFound(
            f"--videos: no video folder {videos_dir}; expected the trimmed Toyota "
            f"Smarthome release's mp4/ folder (<Action>_pSS_rRR_vVV_cCC.mp4)"
        )
    if names is None:
        videos = sorted(p for p in videos_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    else:
        videos = [videos_dir / Path(n.strip()).name for n in names if n.strip()]
    if not videos:
        raise InputNotFound(f"--videos {videos_dir}: no videos ({', '.join(VIDEO_SUFFIXES)}) in the folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"--out {out_dir}: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = FrameStats(videos=len(videos))
    for video in tqdm(videos, desc="tsi-frames", unit="video", disable=not progress, dynamic_ncols=True):
        target = out_dir / f"{video.stem}.jpg"
        if target.exists():
            stats.skipped += 1
            continue
        try:
            image = middle_frame(video, fps)
        except Exception as e:  # PyAV raises many error types for damaged or missing files
            stats.failed[video.name] = f"{type(e).__name__}: {e}"
            continue
        tmp = out_dir / f".{video.stem}.jpg.{os.getpid()}.tmp"
        image.save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, target)
        stats.written += 1
    return stats

"""`tsi`: Toyota Smarthome frames (TSI) as five-option multiple choice over the 22 action captions.

Two layouts:
- the trimmed release: `mp4/<Action>_pSS_rRR_vVV_cCC.mp4` plus the split lists (`splits/test_CS.txt` or
  `test_CS.txt`), with the middle frames extracted to `frames/<video stem>.jpg` by
  `harness data tsi-frames --videos ROOT/mp4 --out ROOT/frames`;
- a folder of already extracted frames (`frames/`, LoRSU's `images_trunc/`, or the root itself), file
  names starting with the video stem (e.g. `Walk_p02_r00_v05_c03.jpg`, `..._sec3.jpg`).
Cross-subject protocol: test = subjects p02 p10 p11 p14 p16 p18 p20; train = the other eleven (the CS
train and validation subjects, as LoRSU trains). The four actions LoRSU drops, and names that are not
classes (Pour.Fromcup), are left out and counted in `describe()["dropped"]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from harness.errors import InvalidInput
from harness.tasks.captions import ACTION_CAPTIONS, TSI_ACTION_CAPTIONS, TSI_DROPPED_ACTIONS
from harness.tasks.choice_task import ChoiceTask, Record
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetNotFound, image_files, read_text, resolve_root

QUESTION = "What is the person in the image doing?"
PROMPTS = PromptSet(version="1", templates=mc_templates())
TEST_SUBJECTS = ("p02", "p10", "p11", "p14", "p16", "p18", "p20")
TRAIN_SUBJECTS = ("p03", "p04", "p06", "p07", "p09", "p12", "p13", "p15", "p17", "p19", "p25")
SPLIT_LISTS = {"test": ("test_CS.txt",), "train": ("train_CS.txt", "validation_CS.txt")}
FRAME_FOLDERS = ("frames", "images_trunc", "toyota_smarthome_images/images_trunc")
LAYOUT_HELP = (
    "the trimmed release (mp4/*.mp4 + splits/test_CS.txt, frames extracted to frames/ with "
    "`harness data tsi-frames`) or a folder of extracted frames (frames/, images_trunc/ or "
    "the root) named <Action>_pSS_rRR_vVV_cCC[...].jpg"
)
_NAME = re.compile(r"^(?P<action>[A-Za-z.]+)_(?P<subject>p\d\d)_(?P<rep>r\d\d)_(?P<view>v\d\d)_(?P<camera>c\d\d)")


class ToyotaSmarthomeImages(ChoiceTask):
    name = "tsi"
    prompts = PROMPTS
    question = QUESTION

    def __init__(
        self, root: Path, split: str = "test", seed: int = 0, action_captions: Mapping[str, str] | None = None
    ):
        if split not in SPLIT_LISTS:
            raise InvalidInput(f"tsi: unknown split {split!r}; expected one of {tuple(SPLIT_LISTS)}")
        root = Path(root)
        self.captions = dict(action_captions or TSI_ACTION_CAPTIONS)
        labels = tuple(c for c in ACTION_CAPTIONS if c in self.captions.values())
        labels += tuple(sorted(set(self.captions.values()) - set(labels)))
        self.frames, self.lists, layout = _detect(root, split)
        super().__init__(root, layout, split, seed, labels)

    def _records(self) -> list[Record]:
        self.dropped = {}
        subjects = TEST_SUBJECTS if self.split == "test" else TRAIN_SUBJECTS
        if self.lists:
            stems = [
                Path(line.strip()).stem for lst in self.lists for line in read_text(lst).splitlines() if line.strip()
            ]
            entries = [(s, self.frames / f"{s}.jpg") for s in stems]
        else:
            entries = [(f.stem, f) for f in image_files(self.frames)]
        out = []
        for stem, image in entries:
            m = _NAME.match(stem)
            if m is None:
                self._drop("not a Toyota Smarthome name")
                continue
            if m["subject"] not in subjects:
                continue
            action = m["action"]
            if action not in self.captions:
                self._drop(action if action in TSI_DROPPED_ACTIONS else f"{action} (not a class)")
                continue
            out.append(
                Record(
                    id=stem,
                    image=str(image),
                    label=self.captions[action],
                    meta={"action": action, "subject": m["subject"], "camera": m["camera"]},
                )
            )
        return out

    def _drop(self, key: str) -> None:
        self.dropped[key] = self.dropped.get(key, 0) + 1


def _detect(root: Path, split: str) -> tuple[Path, list[Path], str]:
    """(frames folder, split lists or [], layout name)."""
    lists = []
    for name in SPLIT_LISTS[split]:
        found = [p for p in (root / "splits" / name, root / name) if p.is_file()]
        lists += found[:1]
    frames = next((root / f for f in FRAME_FOLDERS if (root / f).is_dir()), None)
    if frames is None and root.is_dir() and image_files(root):
        frames = root
    if (root / "mp4").is_dir():
        if len(lists) != len(SPLIT_LISTS[split]):
            raise DatasetNotFound(
                f"tsi: {root} has mp4/ but no split list {' + '.join(SPLIT_LISTS[split])} "
                f"(in {root / 'splits'} or {root}). Expected layout: {LAYOUT_HELP}"
            )
        if frames is None:
            raise DatasetNotFound(
                f"tsi: frames not extracted under {root / 'frames'}; run `harness data "
                f"tsi-frames --videos {root / 'mp4'} --out {root / 'frames'}`. "
                f"Expected layout: {LAYOUT_HELP}"
            )
        return (
            frames,
            lists,
            f"trimmed release (mp4/ + {'/'.join(p.name for p in lists)}, frames in "
            f"{frames.relative_to(root) if frames != root else '.'}/)",
        )
    if frames is None:
        raise DatasetNotFound(f"tsi: no Toyota Smarthome frames under {root}. Expected layout: {LAYOUT_HELP}")
    where = frames.relative_to(root).as_posix() + "/" if frames != root else "the root"
    return frames, [], f"extracted frames ({where}, cross-subject by file name)"


@register("tsi")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> ToyotaSmarthomeImages:
    """Toyota Smarthome middle frames, cross-subject test (or train); 5-option MC over the 22 action captions."""
    root = resolve_root("tsi", path, data_root, "toyota_smarthome", LAYOUT_HELP)
    return ToyotaSmarthomeImages(root, split=split or "test", seed=seed).load()

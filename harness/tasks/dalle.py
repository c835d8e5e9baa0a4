"""`dalle`: DA·E (DALL·E 2 images of the 22 TSI actions) as five-option multiple choice.

Two layouts:
- folder per class: `<root>/<caption>/*.png` (folder names may use spaces, hyphens or underscores);
- LoRSU's flat layout: `<root>/v2/<caption-with-hyphens>_<k>.png` (or the same files directly in `<root>`).
Images whose class is not one of the 22 captions are left out and counted in `describe()["dropped"]`.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness.tasks.captions import ACTION_CAPTIONS
from harness.tasks.choice_task import ChoiceTask, Record
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetNotFound, image_files, resolve_root

QUESTION = "What is the person in the image doing?"
PROMPTS = PromptSet(version="1", templates=mc_templates())
LAYOUT_HELP = (
    "folder per class (<root>/<caption>/*.png, e.g. 'walking/1.png') or LoRSU's flat layout "
    "(<root>/v2/<caption-with-hyphens>_<k>.png, e.g. 'v2/holding-a-cup_3.png')"
)
_KEY = {re.sub(r"[\s_\-]+", " ", c).lower(): c for c in ACTION_CAPTIONS}


def caption_of(name: str) -> str | None:
    """The caption a folder or file-name prefix stands for ('holding-a-cup' → 'holding a cup')."""
    return _KEY.get(re.sub(r"[\s_\-]+", " ", name).strip().lower())


class Dalle(ChoiceTask):
    name = "dalle"
    prompts = PROMPTS
    question = QUESTION

    def __init__(self, root: Path, seed: int = 0):
        root = Path(root)
        self.folder, layout = _detect(root)
        super().__init__(root, layout, "test", seed, ACTION_CAPTIONS)

    def _records(self) -> list[Record]:
        self.dropped = {}
        if self.layout.startswith("flat"):
            pairs = [(f, f.stem.split("_")[0], f.stem) for f in image_files(self.folder)]
        else:
            pairs = [
                (f, d.name, f"{d.name}/{f.stem}")
                for d in sorted(self.folder.iterdir())
                if d.is_dir() and not d.name.startswith(".")
                for f in image_files(d)
            ]
        out = []
        for f, cls, item_id in pairs:
            caption = caption_of(cls)
            if caption is None:
                key = f"unknown class {cls!r}"
                self.dropped[key] = self.dropped.get(key, 0) + 1
                continue
            out.append(Record(id=item_id, image=str(f), label=caption))
        return out


def _detect(root: Path) -> tuple[Path, str]:
    if (root / "v2").is_dir():
        return root / "v2", "flat LoRSU (v2/<caption-with-hyphens>_<k>.png)"
    if not root.is_dir():
        raise DatasetNotFound(f"dalle: {root} is not a folder. Expected layout: {LAYOUT_HELP}")
    if image_files(root):
        return root, "flat LoRSU (<caption-with-hyphens>_<k>.png)"
    if any(d.is_dir() and caption_of(d.name) for d in root.iterdir()):
        return root, "folder per class (<caption>/*.png)"
    raise DatasetNotFound(f"dalle: no DA·E images under {root}. Expected layout: {LAYOUT_HELP}")


@register("dalle")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0) -> Dalle:
    """DA·E: folder per class or LoRSU's flat v2/ layout; 5-option MC over the 22 action captions."""
    return Dalle(resolve_root("dalle", path, data_root, "dalle", LAYOUT_HELP), seed=seed).load()

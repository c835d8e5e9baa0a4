"""A tiny CounterAnimal in the release layout: `LAION-final/<ImageNet id> <name>/{common,counter}-<background>/*.jpg`.

Three classes with the backgrounds the paper names for them (ice bear: snow vs. grass); the folder names after the
index are not CLIP's class names, so a test sees that the index, not the name, sets the label. `imagenet_names.txt`
and a pickle lie beside the class folders as in LoRSU's copy and must be ignored.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness.tasks.fixtures import write_image

# folder → {subfolder: number of images}
CLASSES: dict[str, dict[str, int]] = {
    "296 ice bear": {"common-snow": 3, "counter-grass": 2},
    "100 black swan": {"common-water": 2, "counter-earth": 2},
    "291 lion": {"common-grass": 2, "counter-snow": 1},
}
CLIP_NAMES = {296: "polar bear", 100: "black swan", 291: "lion"}


def expected_ids() -> dict[str, tuple[int, str, str]]:
    """{item id: (ImageNet id, group, background)} of `build_counteranimal`'s images."""
    out = {}
    for folder, subs in CLASSES.items():
        cid = int(folder.split(" ")[0])
        for sub, n in subs.items():
            group, background = sub.split("-", 1)
            out.update({f"{cid}/{sub}/{k}": (cid, group, background) for k in range(n)})
    return out


def build_counteranimal(root: Path, nested: bool = True) -> Path:
    """The classes under `root/LAION-final/` (`nested`) or directly under `root`; returns `root`."""
    folder = root / "LAION-final" if nested else root
    seed = 2900
    for name, subs in CLASSES.items():
        for sub, n in subs.items():
            for k in range(n):
                write_image(folder / name / sub / f"{k}.jpg", seed)
                seed += 1
    (folder / "imagenet_names.txt").write_text("0\ttench, Tinca tinca\n1\tgoldfish, Carassius auratus\n")
    (folder / "counter_animal_ds.pkl").write_bytes(b"\x80\x04N.")
    return root

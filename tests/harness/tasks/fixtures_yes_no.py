"""Fixture datasets for the yes/no benchmarks POPE and MME, in their release layouts with tiny generated images.
Rows marked "real" are copied from the releases (research notes B.1, B.2); the others follow their format.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness.tasks.fixtures import write_image

POPE_IMAGES = ("COCO_val2014_000000310196.jpg", "COCO_val2014_000000210789.jpg")
# (image index, text, label) per split, question_id = position + 1; 3 yes / 3 no per split
POPE_ROWS: dict[str, list[tuple[int, str, str]]] = {
    "random": [
        (0, "Is there a snowboard in the image?", "yes"),  # real (HEAD 3df3ba1, id 1)
        (0, "Is there a car in the image?", "no"),  # real (id 2)
        (0, "Is there a person in the image?", "yes"),
        (1, "Is there a giraffe in the image?", "no"),
        (1, "Is there a dining table in the image?", "yes"),
        (1, "Is there a toothbrush in the image?", "no"),
    ],
    "popular": [
        (0, "Is there a snowboard in the image?", "yes"),
        (0, "Is there a dining table in the image?", "no"),  # real (id 2)
        (0, "Is there a person in the image?", "yes"),
        (1, "Is there a chair in the image?", "no"),
        (1, "Is there a cup in the image?", "yes"),
        (1, "Is there a car in the image?", "no"),
    ],
    "adversarial": [
        (0, "Is there a snowboard in the image?", "yes"),
        (0, "Is there a backpack in the image?", "no"),  # real (id 2)
        (0, "Is there a person in the image?", "yes"),
        (1, "Is there a fork in the image?", "no"),
        (0, "Is there a skis in the image?", "yes"),  # real (id 5; grammar as released)
        (1, "Is there a knife in the image?", "no"),
    ],
}


def pope_line(split: str, k: int) -> str:
    img, text, label = POPE_ROWS[split][k]
    return json.dumps({"question_id": k + 1, "image": POPE_IMAGES[img], "text": text, "label": label})


def build_pope(root: Path, files_dir: str = "output/coco", image_dir: str = "val2014") -> Path:
    """coco_pope_{random,popular,adversarial}.json (JSON Lines) in `files_dir` (the repository's output/coco/;
    "." for the folder itself), COCO val2014 JPEGs in `image_dir`. Returns `root`."""
    folder = root / files_dir
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in POPE_ROWS.items():
        (folder / f"coco_pope_{split}.json").write_text("\n".join(pope_line(split, k) for k in range(len(rows))) + "\n")
    for i, name in enumerate(POPE_IMAGES):
        write_image(root / image_dir / name, 1100 + i)
    return root


# subtask → [(stem, image suffix, [(question, answer), ...])]; the split-layout subtasks are SPLIT_LAYOUT
MME_ROWS: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {
    "existence": [
        (
            "000000006040",
            ".jpg",
            [  # real
                ("Is there a train in this image? Please answer yes or no.", "Yes"),
                ("Is there a bed in this image? Please answer yes or no.", "No"),
            ],
        ),
        (
            "000000015254",
            ".jpg",
            [
                ("Is there a cat in this image? Please answer yes or no.", "Yes"),
                ("Is there a bus in this image? Please answer yes or no.", "No"),
            ],
        ),
        (
            "000000027620",
            ".jpg",
            [
                ("Is there a person in this image? Please answer yes or no.", "Yes"),
                ("Is there a giraffe in this image? Please answer yes or no.", "No"),
            ],
        ),
    ],
    "position": [
        (
            "000000567886",
            ".jpg",
            [  # the second is the release's typo (no "?"); which answer it has is assumed
                ("Is the cricket bat above the batter's body? Please answer yes or no.", "Yes"),
                ("Is the cricket bat under the batter's body Please answer yes or no.", "No"),
            ],
        ),
    ],
    "OCR": [
        (
            "0001",
            ".jpg",
            [  # real
                ('Is the word in the logo "angie\'s"? Please answer yes or no.', "Yes"),
                ('Is the word in the logo "angle\'s"? Please answer yes or no.', "No"),
            ],
        ),
    ],
    "artwork": [
        (
            "10002",
            ".jpg",
            [  # real
                ("Does this artwork exist in the form of painting? Please answer yes or no.", "Yes"),
                ("Does this artwork exist in the form of glassware? Please answer yes or no.", "No"),
            ],
        ),
        (
            "10049",
            ".jpg",
            [
                ("Is this artwork created by rembrandt? Please answer yes or no.", "Yes"),
                ("Is this artwork created by monet? Please answer yes or no.", "No"),
            ],
        ),
    ],
    "scene": [
        (
            "Places365_val_00000001",
            ".jpg",
            [
                ("Is this picture captured in a place of greenhouse indoor? Please answer yes or no.", "Yes"),  # real
                ("Is this picture captured in a place of waterfall? Please answer yes or no.", "No"),
            ],
        ),
    ],
    "celebrity": [
        (
            "tt0032138_shot_0395_img_0",
            ".jpg",
            [
                (
                    "Is the actor inside the red bounding box named Frank Morgan? Please answer yes or no.",
                    "Yes",
                ),  # real
                ("Is the actor inside the red bounding box named Bill Murray? Please answer yes or no.", "No"),
            ],
        ),
    ],
    "code_reasoning": [
        (
            "0001",
            ".png",
            [  # real
                ("The image shows a python code. Is the output of the code 'Hello'? Please answer yes or no.", "Yes"),
                ("The image shows a python code. Is the output of the code 'World'? Please answer yes or no.", "No"),
            ],
        ),
        (
            "0002",
            ".png",
            [
                ("The image shows a python code. Is the output of the code '12'? Please answer yes or no.", "Yes"),
                ("The image shows a python code. Is the output of the code '21'? Please answer yes or no.", "No"),
            ],
        ),
    ],
    "commonsense_reasoning": [
        (
            "0001",
            ".png",
            [
                ("Here is a cup of steaming coffee. Should I drink it right away? Please answer yes or no.", "No"),
                ("Here is a cup of steaming coffee. Is it hot? Please answer yes or no.", "Yes"),
            ],
        ),
    ],
}
SPLIT_LAYOUT = ("artwork", "celebrity", "landmark", "posters", "scene")
MME_COUNTS = {s: 2 * len(v) for s, v in MME_ROWS.items()}


def mme_txt(subtask: str, stem: str) -> Path:
    """Where a subtask's `<stem>.txt` lies, relative to the MME folder."""
    qa = "questions_answers_YN/" if subtask in SPLIT_LAYOUT else ""
    return Path(f"{subtask}/{qa}{stem}.txt")


def build_mme(root: Path, nest: str = "") -> Path:
    """The release folders under `root/nest` (e.g. nest "MME_Benchmark" as HF darkyarding/MME nests them):
    split layout for artwork, scene, celebrity, flat for the others (code_reasoning and commonsense_reasoning
    with .png images). The scene txt has CRLF endings and no final newline. Returns `root`."""
    base = root / nest if nest else root
    seed = 1200
    for subtask, images in MME_ROWS.items():
        for stem, suffix, rows in images:
            txt = base / mme_txt(subtask, stem)
            txt.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"{q}\t{a}" for q, a in rows]
            if subtask == "scene":
                txt.write_bytes("\r\n".join(lines).encode())
            else:
                txt.write_text("\n".join(lines) + "\n")
            img_dir = txt.parent.parent / "images" if subtask in SPLIT_LAYOUT else txt.parent
            write_image(img_dir / f"{stem}{suffix}", seed)
            seed += 1
    return root

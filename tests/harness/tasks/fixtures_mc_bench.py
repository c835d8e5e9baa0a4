"""Fixture datasets for the lettered multiple-choice benchmarks MMBench, SEED-Bench and ScienceQA, in their release
schemas with tiny generated images. Rows marked "real" follow released rows; the others follow their format.
"""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

from tests.harness.tasks.fixtures import write_image

# ---- MMBench: MMBench_DEV_EN.tsv, circular rotations as rows (index = k * 1e6 + g_index) ----
MMB_ROUND = 1_000_000
MMB_COLUMNS = ("index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source")
MMB_COLUMNS += ("l2-category", "comment", "split")
# g_index → (question, hint, options, answer letter, category, l2-category, source, image suffix)
MMB_GROUPS: dict[int, tuple[str, str, tuple[str, ...], str, str, str, str, str]] = {
    3: (
        "Which category does this image belong to?",
        "",
        ("Oil Paiting", "Sketch", "Digital art", "Photo"),  # the release's spelling
        "D",
        "image_style",
        "coarse_perception",
        "MMBench",
        ".jpg",
    ),
    58: (
        "Which property do these three objects have in common?",
        "Select the best answer.",
        ("hard", "bumpy", "stretchy"),  # three options: D is NaN
        "C",
        "physical_property_reasoning",
        "attribute_reasoning",
        "scienceqa",
        ".png",
    ),
    120: (
        "What is the text written on the sign?",
        "",
        ("STOP", "YIELD", "ONE WAY", "NO PARKING"),
        "A",
        "ocr",
        "fine-grained_perception (single-instance)",
        "MMBench",
        ".png",
    ),
    245: (
        "Identify the question that Lena's experiment can best answer.",
        "The passage below describes an experiment.\nLena waxed half of her snowboard and timed each run.",
        (
            "Does Lena's snowboard slide down a hill in less time when it has a thin or a thick layer of wax?",
            "Does Lena's snowboard slide down a hill in less time when it has a layer of wax or when it does not?",
        ),
        "B",
        "function_reasoning",
        "attribute_reasoning",
        "scienceqa",
        ".jpg",
    ),
}
MMB_CN: dict[int, tuple[str, tuple[str, ...]]] = {
    3: ("这张图片属于哪个类别?", ("油画", "素描", "数字艺术", "照片")),
    120: ("标志上写的是什么文字?", ("停", "让行", "单行道", "禁止停车")),
}
LETTERS = "ABCD"


def mmb_rotation(g: int, k: int) -> tuple[tuple[str, ...], str]:
    """Options and answer letter of rotation k of group g (options shifted left by k, as CircularEval makes them)."""
    options, answer = MMB_GROUPS[g][2], MMB_GROUPS[g][3]
    n = len(options)
    return options[k:] + options[:k], LETTERS[(LETTERS.index(answer) - k) % n]


def mmb_rows(lang: str = "en") -> list[dict[str, str]]:
    """Rows in file order (every main row, then the rotations k = 1, 2, 3), images left as placeholders."""
    groups = MMB_GROUPS if lang == "en" else {g: v for g, v in MMB_GROUPS.items() if g in MMB_CN}
    rows = []
    for k in range(4):
        for g, (question, hint, options, _, category, l2, source, _) in groups.items():
            if k >= len(options):
                continue
            opts, answer = mmb_rotation(g, k)
            if lang == "cn":
                question = MMB_CN[g][0]
                cn = MMB_CN[g][1]
                opts = cn[k:] + cn[:k]
            row = {"index": str(k * MMB_ROUND + g), "question": question, "hint": hint, "answer": answer}
            row |= {c: (opts[i] if i < len(opts) else "") for i, c in enumerate(LETTERS)}
            # the rotations share the main row's image by naming its index (VLMEvalKit's space saving)
            row |= {"category": category, "image": "" if k == 0 else str(g), "source": source, "l2-category": l2}
            row |= {"comment": "", "split": "dev"}
            rows.append(row)
    return rows


def mmb_image(scratch: Path, g: int) -> str:
    """Base64 of a tiny generated image (PNG or JPEG by the group's suffix)."""
    path = write_image(scratch / f"{g}{MMB_GROUPS[g][7]}", 1300 + g)
    data = base64.b64encode(path.read_bytes()).decode()
    path.unlink()
    return data


def write_tsv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = MMB_COLUMNS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(columns)
        w.writerows([[r.get(c, "") for c in columns] for r in rows])
    return path


def build_mmbench(root: Path, cn: bool = True) -> Path:
    """`root/MMBench_DEV_EN.tsv` (13 rows: 4 groups of 4, 3, 4, 2 rotations) and, with `cn`,
    `root/MMBench_DEV_CN.tsv` (2 groups of 4). Returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for lang, name in (("en", "MMBench_DEV_EN.tsv"), ("cn", "MMBench_DEV_CN.tsv")):
        if lang == "cn" and not cn:
            continue
        rows = mmb_rows(lang)
        for r in rows:
            if not r["image"]:
                r["image"] = mmb_image(root, int(r["index"]))
        write_tsv(root / name, rows)
    return root


# ---- SEED-Bench v1: SEED-Bench.json + SEED-Bench-image/ ----
SEED_TYPES = {
    "Scene Understanding": 1,
    "Instance Identity": 2,
    "Instance Attributes": 3,
    "Instance Location": 4,
    "Instances Counting": 5,
    "Spatial Relation": 6,
    "Instance Interaction": 7,
    "Visual Reasoning": 8,
    "Text Understanding": 9,
    "Action Recognition": 10,
    "Action Prediction": 11,
    "Procedure Understanding": 12,
}
# (question_id, data_id, image file suffix, type id, answer, question, choice_a|..|choice_d); "" suffix: video
SEED_ROWS: list[tuple[str, str, str, int, str, str, str]] = [
    ("101669", "1454426_2591111986", ".jpg", 5, "A", "How many towels are in the image?", "One|Two|Three|Four"),  # real
    ("101670", "1454426_2591111986", ".jpg", 3, "A", "What color are the towels?", "White|Blue|Red|Green"),
    (
        "2130",
        "3101822_2839281832",
        ".jpg",
        1,
        "C",
        "What is the main setting of the image?",
        "Beach|Forest|City|Desert",
    ),
    ("2131", "3101822_2839281832", ".jpg", 1, "B", "What is the weather like in the scene?", "Sunny|Rainy|Snowy|Foggy"),
    ("40077", "1990343_3211847460", ".png", 2, "D", "What type of animal is shown in the image?", "Dog|Cat|Horse|Cow"),
    ("57211", "1990343_3211847460", ".png", 5, "B", "How many cows are visible in the image?", "Two|Three|Four|Five"),
    ("66012", "2795330_1204758913", ".jpg", 6, "C", "Where is the lamp relative to the sofa?", "Behind|On|Left|Under"),
    ("90004", "2795330_1204758913", ".jpg", 9, "A", "What is the word written on the sign?", "OPEN|CLOSED|EXIT|SALE"),
    (
        "1600123",
        "v_aS5h9_6aGEg.mp4",
        "",
        10,
        "A",
        "What is the action in the video?",
        "Pouring|Cutting|Opening|Folding",
    ),
]
SEED_IMAGE_IDS = [r[0] for r in SEED_ROWS if r[2]]


def seed_question(row: tuple) -> dict:
    qid, data_id, suffix, type_id, answer, question, choices = row
    q = {"answer": answer, **{f"choice_{c}": t for c, t in zip("abcd", choices.split("|"))}, "data_id": data_id}
    q |= {"data_type": "image" if suffix else "video", "question": question, "question_id": qid}
    return q | {"question_type_id": type_id}


def build_seed_bench(root: Path) -> Path:
    """`root/SEED-Bench.json` (8 image questions, 1 video question) and `root/SEED-Bench-image/<data_id><suffix>`."""
    root.mkdir(parents=True, exist_ok=True)
    data = {"questions": [seed_question(r) for r in SEED_ROWS], "question_type": SEED_TYPES}
    (root / "SEED-Bench.json").write_text(json.dumps(data, indent=4))
    for i, data_id in enumerate(dict.fromkeys(r[1] + r[2] for r in SEED_ROWS if r[2])):
        write_image(root / "SEED-Bench-image" / data_id, 1400 + i)
    return root


# ---- ScienceQA: problems.json + pid_splits.json + images/<split>/<pid>/image.png ----
# pid → (question, choices, answer, hint, image, grade, subject, topic); hint None is the release's other "no hint"
SQA_PROBLEMS: dict[str, tuple[str, list[str], int, str | None, str | None, str, str, str]] = {
    "4": (  # real (a map question)
        "Which of these states is farthest north?",
        ["West Virginia", "Louisiana", "Arizona", "Oklahoma"],
        *(0, "", "image.png", "grade2", "social science", "geography"),
    ),
    "7": (
        "Identify the question that Tom and Justin's experiment can best answer.",
        [
            "Do ping pong balls stop rolling along the ground sooner after being launched from a 30° angle or a 45° "
            "angle?",
            "Do ping pong balls travel farther when launched from a 30° angle compared to a 45° angle?",
        ],
        1,
        "The passage below describes an experiment. Read the passage and then follow the instructions below.\n\n"
        "Tom placed a ping pong ball in a catapult and launched it from a 45° angle.",
        *("image.png", "grade7", "natural science", "science-and-engineering-practices"),
    ),
    "11": (  # no image: left out of the IMG subset
        "Which word would you find on a dictionary page with the following guide words?\nhelp - hunt",
        ["hole", "hair"],
        *(0, "", None, "grade3", "language science", "reference-skills"),
    ),
    "18": (
        "Look at the picture. Which word best describes how this lemon tastes?",
        ["sour", "salty", "sweet"],
        *(0, "", "image.png", "grade1", "language science", "vocabulary"),
    ),
    "22": (
        "Which animal's feet are also adapted for walking on snow?",
        ["Arctic fox", "bearded dragon"],
        0,
        "Snowshoe hares live in cold places. Their feet are adapted for walking on snow.\nFigure: snowshoe hare.",
        *("image.png", "grade6", "natural science", "biology"),
    ),
    "25": (  # no image
        "Which tense does the sentence use?\nMona will print her name with care.",
        ["present tense", "future tense", "past tense"],
        *(1, "", None, "grade6", "language science", "verbs"),
    ),
    "31": (
        "What is the capital of Nevada?",
        ["Carson City", "Reno", "Las Vegas", "Salt Lake City", "Sacramento"],
        *(0, "Figure: Nevada.", "image.png", "grade11", "social science", "geography"),
    ),
    "2": (
        "Which material is this spatula made of?",
        ["rubber", "cotton"],
        *(0, "", "image.png", "grade2", "natural science", "physics"),
    ),
    "9": (
        "Which ocean is highlighted?",
        ["the Indian Ocean", "the Atlantic Ocean", "the Pacific Ocean"],
        *(2, None, "image.png", "grade5", "social science", "geography"),
    ),
    "1": (
        "Which figure of speech is used in this text?\nSing, O goddess, the anger of Achilles son of Peleus.",
        ["chiasmus", "apostrophe"],
        *(1, "", None, "grade11", "language science", "figurative-language"),
    ),
}
SQA_FIELDS = ("question", "choices", "answer", "hint", "image", "grade", "subject", "topic")
SQA_SPLITS = {
    "train": ["1"],
    "val": ["2", "9"],
    "test": ["4", "7", "11", "18", "22", "25", "31"],
    "trainval": ["1", "2", "9"],
    "minitrain": ["1"],
    "minival": ["9"],
    "minitest": ["7", "11", "31"],
}
SQA_TEST_IMG = ["4", "7", "18", "22", "31"]


def build_scienceqa(root: Path, nest: str = "", images_at_root: bool = False) -> Path:
    """problems.json + pid_splits.json in `root/nest` (nest "data/scienceqa" as the repository has them), images
    beside them (or, with `images_at_root`, under `root/images`). Returns `root`."""
    base = root / nest if nest else root
    base.mkdir(parents=True, exist_ok=True)
    split_of = {pid: s for s in ("train", "val", "test") for pid in SQA_SPLITS[s]}
    problems = {}
    for pid, row in SQA_PROBLEMS.items():
        p = dict(zip(SQA_FIELDS, row))
        extra = {"task": "closed choice", "category": p["topic"].title(), "skill": "", "lecture": "", "solution": ""}
        problems[pid] = {**p, **extra, "split": split_of[pid]}
    (base / "problems.json").write_text(json.dumps(problems, indent=2))
    (base / "pid_splits.json").write_text(json.dumps(SQA_SPLITS))
    images = (root if images_at_root else base) / "images"
    for pid, p in problems.items():
        if p["image"]:
            write_image(images / p["split"] / pid / p["image"], 1500 + int(pid))
    return root

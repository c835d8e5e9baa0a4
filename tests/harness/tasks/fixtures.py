"""Fixture datasets in each release layout: real annotation rows (tests/harness/tasks/data), generated 16×16 images.

`build_all_fixtures(root)` writes every task's dataset under one data root in the default folder names,
for an end-to-end `harness eval --data-root ROOT` run. The other builders write one layout each.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from PIL import Image

DATA = Path(__file__).parent / "data"
ACTIONS_OK = ("walking", "holding a cup", "sitting down", "watching TV", "making tea", "reading a book")


def write_image(path: Path, seed: int, size: int = 16) -> Path:
    """A deterministic small image; the format follows the suffix (.png, .jpg, .ppm)."""
    rng = random.Random(seed)
    im = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(8):
        im.putpixel((rng.randrange(size), rng.randrange(size)), tuple(rng.randrange(256) for _ in range(3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def write_corrupt(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    return path


def _gt_rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_bytes().decode().split("\r\n")
    return [ln.split(";") for ln in lines[1:] if ln]


def build_gtsrb_ini(root: Path) -> Path:
    """GTSRB/Final_Test/Images/*.ppm (+ the unlabeled .test.csv) and GT-final_test.csv beside GTSRB/;
    GTSRB/Final_Training/Images/000XX/ with GT-000XX.csv. CSVs keep their CRLF endings."""
    images = root / "GTSRB" / "Final_Test" / "Images"
    images.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / "GT-final_test.csv", root / "GT-final_test.csv")
    rows = _gt_rows("GT-final_test.csv")
    unlabeled = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2"] + [";".join(r[:-1]) for r in rows]
    (images / "GT-final_test.test.csv").write_bytes(("\r\n".join(unlabeled) + "\r\n").encode())
    for i, r in enumerate(rows):
        write_image(images / r[0], i)
    for name in ("GT-00000.csv", "GT-00001.csv", "GT-00014.csv"):
        folder = root / "GTSRB" / "Final_Training" / "Images" / name[3:8]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / name, folder / name)
        for i, r in enumerate(_gt_rows(name)):
            write_image(folder / r[0], 100 + i)
    return root


def build_gtsrb_torchvision(root: Path) -> Path:
    """torchvision's GTSRB(root): root/gtsrb/GT-final_test.csv, root/gtsrb/GTSRB/{Final_Test/Images,Training}."""
    base = root / "gtsrb"
    build_gtsrb_ini(base)
    (base / "GTSRB" / "Final_Test" / "Images" / "GT-final_test.test.csv").unlink()
    (base / "GTSRB" / "Final_Training" / "Images").rename(base / "GTSRB" / "Training")
    (base / "GTSRB" / "Final_Training").rmdir()
    return root


def build_gtsrb_kaggle(root: Path) -> Path:
    """Kaggle: Test.csv / Train.csv (comma-separated, Path relative to the root), Test/*.png, Train/<id>/*.png."""
    head = "Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path"
    test = [head]
    for i, r in enumerate(_gt_rows("GT-final_test.csv")):
        rel = f"Test/{Path(r[0]).stem}.png"
        test.append(",".join(r[1:] + [rel]))
        write_image(root / rel, i)
    train = [head]
    for name in ("GT-00000.csv", "GT-00001.csv", "GT-00014.csv"):
        for i, r in enumerate(_gt_rows(name)):
            cid = int(r[-1])
            rel = f"Train/{cid}/{cid:05d}_{Path(r[0]).stem}.png"
            train.append(",".join(r[1:] + [rel]))
            write_image(root / rel, 100 + i)
    (root / "Test.csv").write_text("\n".join(test) + "\n")
    (root / "Train.csv").write_text("\n".join(train) + "\n")
    return root


def tsi_split_lines(split: str) -> list[str]:
    return [ln for ln in (DATA / f"tsi_{split}.txt").read_text().splitlines() if ln.strip()]


def build_tsi_frames(root: Path, folder: str = "images_trunc") -> Path:
    """Extracted frames <stem>.jpg of the test, train and validation videos, plus a stray non-dataset file."""
    frames = root / folder if folder else root
    for i, line in enumerate(
        tsi_split_lines("test_CS") + tsi_split_lines("train_CS") + tsi_split_lines("validation_CS")
    ):
        write_image(frames / f"{Path(line).stem}.jpg", 300 + i)
    write_image(frames / "notes.png", 999)
    return root


def write_video(path: Path, n_frames: int = 30, fps: int = 20, size: int = 32) -> Path:
    """An mpeg4 .mp4 whose frame i is a solid grey of level 8*i (to see which frame was kept)."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(n_frames):
            arr = np.full((size, size, 3), min(8 * i, 255), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def build_tsi_release(root: Path, n_videos: int | None = None) -> Path:
    """The trimmed release: mp4/<stem>.mp4 and splits/{test,train,validation}_CS.txt (frames not extracted)."""
    for split in ("test_CS", "train_CS", "validation_CS"):
        lines = tsi_split_lines(split)
        (root / "splits").mkdir(parents=True, exist_ok=True)
        (root / "splits" / f"{split}.txt").write_text("\n".join(lines) + "\n")
        for k, line in enumerate(lines[:n_videos]):
            write_video(root / "mp4" / line, n_frames=20 + k % 7)
    return root


def build_dalle_per_class(root: Path, per_class: int = 2, captions: tuple[str, ...] | None = None) -> Path:
    from harness.tasks.captions import ACTION_CAPTIONS

    for c, caption in enumerate(captions or ACTION_CAPTIONS):
        for k in range(per_class):
            write_image(root / caption / f"{k}.png", 500 + 10 * c + k)
    return root


def build_dalle_flat(root: Path, per_class: int = 2) -> Path:
    """LoRSU's flat v2/<caption-with-hyphens>_<k>.png, plus one image of a class that is not a caption."""
    from harness.tasks.captions import ACTION_CAPTIONS

    for c, caption in enumerate(ACTION_CAPTIONS):
        for k in range(per_class):
            write_image(root / "v2" / f"{caption.replace(' ', '-')}_{k}.png", 500 + 10 * c + k)
    write_image(root / "v2" / "juggling_0.png", 777)
    return root


VIZWIZ_RECORDS = [
    {
        "image": "VizWiz_val_00000003.jpg",
        "question": "What is this?",
        "answer_type": "other",
        "answerable": 1,
        "answers": ["basil"] * 4 + ["basil leaves"] * 3 + ["unanswerable", "herbs", "Basil"],
    },
    {
        "image": "VizWiz_val_00000001.jpg",
        "question": "How many pills are there?",
        "answer_type": "number",
        "answerable": 1,
        "answers": ["2"] * 3 + ["two"] * 2 + ["3"] * 5,
    },
    {
        "image": "VizWiz_val_00000000.jpg",
        "question": "What does this say?",
        "answer_type": "unanswerable",
        "answerable": 0,
        "answers": ["unanswerable"] * 8 + ["unsuitable"] * 2,
    },
    {
        "image": "VizWiz_val_00000002.jpg",
        "question": "Is the light on?",
        "answer_type": "yes/no",
        "answerable": 1,
        "answers": ["yes"] * 9 + ["no"],
        "stray_field": {"x": 1},
    },
    {
        "image": "VizWiz_val_00000004.jpg",
        "question": "What drink is this?",
        "answer_type": "other",
        "answerable": 1,
        "answers": ["coke"] * 10,
    },
    {
        "image": "VizWiz_val_00000005.jpg",
        "question": "What color is this shirt?",
        "answer_type": "other",
        "answerable": 1,
        "answers": ["blue"] * 5 + ["navy blue"] * 3 + ["dark blue"] * 2,
    },
]


def build_vizwiz(root: Path, corrupt: bool = False) -> Path:
    """Annotations/val.json (a JSON array, 10 answers with answer_confidence) + val/*.jpg."""
    records = []
    for k, r in enumerate(VIZWIZ_RECORDS):
        conf = ["yes", "maybe", "no"]
        records.append(
            {
                **r,
                "answers": [{"answer_confidence": conf[(k + j) % 3], "answer": a} for j, a in enumerate(r["answers"])],
            }
        )
        if corrupt and k == 0:
            write_corrupt(root / "val" / r["image"])
        else:
            write_image(root / "val" / r["image"], 700 + k)
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / "val.json").write_text(json.dumps(records))
    return root


def build_vsr(root: Path) -> Path:
    """zeroshot/ and random/ test.jsonl (real rows); images flat in images/, except the val2017 rows (only in
    val2017/) and the first row (only in train2017/), to exercise the COCO fallback."""
    for variant in ("zeroshot", "random"):
        src = (DATA / f"vsr_{variant}_test.jsonl").read_bytes()
        (root / variant).mkdir(parents=True, exist_ok=True)
        (root / variant / "test.jsonl").write_bytes(src)
        for k, line in enumerate(src.decode().splitlines()):
            row = json.loads(line)
            coco = Path(row["image_link"]).parent.name
            folder = coco if coco == "val2017" or (variant == "zeroshot" and k == 0) else "images"
            write_image(root / folder / row["image"], 800 + k)
    return root


def build_hm(root: Path, missing_image: bool = False) -> Path:
    """test_unseen.jsonl (real rows, str ids) and dev_seen.jsonl rewritten as another copy has it (int ids,
    escaped slashes, a stray text_length field) + img/*.png."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / "hm_test_unseen.jsonl", root / "test_unseen.jsonl")
    lines = []
    for line in (DATA / "hm_dev_seen.jsonl").read_text().splitlines():
        row = json.loads(line)
        row = {
            "id": int(row["id"]),
            "img": row["img"],
            "label": row["label"],
            "text": row["text"],
            "text_length": len(row["text"]),
        }
        lines.append(json.dumps(row).replace("/", "\\/"))
    (root / "dev_seen.jsonl").write_text("\n".join(lines) + "\n")
    for k, name in enumerate(("test_unseen.jsonl", "dev_seen.jsonl")):
        for j, line in enumerate((root / name).read_text().splitlines()):
            if missing_image and k == 0 and j == 0:
                continue
            write_image(root / json.loads(line)["img"], 900 + 50 * k + j)
    return root


def build_all_fixtures(root: Path, corrupt: bool = False) -> dict[str, Path]:
    """Every task's fixture under `root` in its default folder name; `corrupt=True` adds one corrupt
    VizWiz image and one missing Hateful Memes image (recorded as item errors)."""
    root = Path(root)
    paths = {
        "tsi": root / "toyota_smarthome",
        "gts": root / "gtsrb",
        "dalle": root / "dalle",
        "vizwiz": root / "vizwiz",
        "vsr": root / "vsr",
        "hm": root / "hateful_memes",
    }
    build_tsi_frames(paths["tsi"])
    build_gtsrb_ini(paths["gts"])
    build_dalle_flat(paths["dalle"], per_class=1)
    build_vizwiz(paths["vizwiz"], corrupt=corrupt)
    build_vsr(paths["vsr"])
    build_hm(paths["hm"], missing_image=corrupt)
    return paths

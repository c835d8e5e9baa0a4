"""A tiny VisOnlyQA in the Hugging Face repositories' layout: parquet files per category (HF split), the release's
columns in its order, decoded_image as the Image feature's {bytes, path} struct holding generated PNG bytes.

Rows marked "real" copy the text of rows of psunlpgroup/VisOnlyQA dataset/test/*.jsonl (ids cut to 40 characters);
the train rows follow their format. The files are named in an order other than the release's, so the task's
category order is tested; one real category is two shards, the train files carry the older fingerprint suffix and
one of them has a row group per row.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

from PIL import Image

TF = ["True", "False"]
FINAL = "\n\nYour response should only include the final answer ({}). Do not include any reasoning or explanation in your response."  # noqa: E501
REASONING = "\n\nIn your response, provide a short explanation or reasoning for your answer. Then, provide the final answer ({})."  # noqa: E501
TRI = " in the figure. True or False?\n\nA triangle is a polygon with three edges and three vertices, which are explicitly connected in the figure."  # noqa: E501
LEN = " Which of the following options is a reasonable estimate of X? You only need to estimate from the visual information and do not need to do any mathematical reasoning. "  # noqa: E501
MULTI = "List all figures that satisfy the following conditions from a, b, c, and d. You must answer this question using visual information and do not need to use your knowledge of chemistry unless explicitly instructed to do so.\n\nConditions: "  # noqa: E501
SIZE = " Which of the following options is a reasonable estimate? "
ANGLE3D = "Which of the following options is a reasonable estimate of the angle between the directions of the gray car and the motorcycle in the figure? We define 0 degrees if the direction is the same and 180 degrees if the direction is opposite. (a) 135 degrees (b) 0 degrees (c) 45 degrees (d) 180 degrees (e) 90 degrees "  # noqa: E501

# (question, answer, response_options, image_category, task_category, question_type, source, id, image_path)
Spec = tuple[str, str, list[str], str, str, str, str, str, str]
ROWS: dict[str, dict[str, list[Spec]]] = {
    "real": {
        "geometry__triangle": [  # real (the first three rows)
            ("There is no triangle ADP" + TRI, "False", TF, "geometry", "triangle", "single_answer", "MathVista",
             "visonlyqa_611b0c3de3a37a2f0028d09c90e7c24b", "images/MathVista/images/119.jpg"),
            ("There is a triangle ABD" + TRI, "False", TF, "geometry", "triangle", "single_answer", "MathVista",
             "visonlyqa_77819290b6f44a0d250a639c8637ac3e", "images/MathVista/images/700.jpg"),
            ("There is a triangle CEB" + TRI, "True", TF, "geometry", "triangle", "single_answer", "MathVista",
             "visonlyqa_9a092d5d7a7198183bf7919ff8da87d5", "images/MathVista/images/930.jpg"),
        ],
        "geometry__length": [  # real
            ("Line AB is X times longer than DC." + LEN + "(a) 4 (b) 0.5 (c) 1 (d) 0.25 (e) 2 ", "e", list("abcde"),
             "geometry", "length", "single_answer", "MathVista", "visonlyqa_2d9f01a96acb5ce8c22fea2ca496461c",
             "images/MathVista/images/622.jpg"),
            ("Line PC is X times longer than DB." + LEN + "(a) 1 (b) 4 (c) 0.25 (d) 2 (e) 0.5 ", "b", list("abcde"),
             "geometry", "length", "single_answer", "MathVista", "visonlyqa_9c10acf1a4f359e414a0ebce6ca86970",
             "images/MathVista/images/119.jpg"),  # answer changed from "e", so the answers differ
        ],
        "chemistry__shape_multi": [  # real
            (MULTI + "Including a hexagon.", "d", list("abcd"), "chemistry", "shape_multi", "multiple_answers",
             "MMMU_Chemistry", "visonlyqa_2651b66cf4f68d705ae1142dc768482a", "images/MMMU_Chemistry/test_252.png"),
            (MULTI + "All CH3 (or H3C) are attached to vertical lines.", "b,d", list("abcd"), "chemistry",
             "shape_multi", "multiple_answers", "MMMU_Chemistry", "visonlyqa_ec45f6716c52cc538f0f5fcb1eb1b94a",
             "images/MMMU_Chemistry/test_351.png"),
        ],
    },
    "synthetic": {
        "syntheticgeometry__triangle": [  # real: image_category "geometry", not "syntheticgeometry"
            ("There is no triangle CAJ" + TRI, "False", TF, "geometry", "triangle", "single_answer",
             "SyntheticGeometry", "syntheticgeometry_01664_triangle_dbe8263", "images/SyntheticGeometry/s_01664.png"),
            ("There is no triangle AEB" + TRI, "True", TF, "geometry", "triangle", "single_answer",
             "SyntheticGeometry", "syntheticgeometry_01296_triangle_9dfc0c6", "images/SyntheticGeometry/s_01296.png"),
        ],
        "3d__size": [  # real
            ("The yellow rubber sphere is X times wider than the yellow cube." + SIZE + "(a) 1 (b) 0.5 (c) 2 ", "a",
             list("abc"), "3d", "size", "single_answer", "CLEVR", "CLEVR_val_012151", "images/CLEVR/val_012151.png"),
            ("The brown cylinder is X times wider than the gray sphere." + SIZE + "(a) 1 (b) 2 (c) 0.5 ", "b",
             list("abc"), "3d", "size", "single_answer", "CLEVR", "CLEVR_val_007640", "images/CLEVR/val_007640.png"),
        ],
        "3d__angle": [  # real: its task_category says "size"
            (ANGLE3D, "e", list("abcde"), "3d", "size", "single_answer", "SuperCLEVR", "superCLEVR_new_024303",
             "images/SuperCLEVR/superCLEVR_new_024303.png"),
        ],
    },
    "train": {
        "syntheticgeometry__triangle": [
            (f"There is {no}triangle {t}" + TRI, a, TF, "geometry", "triangle", "single_answer", "SyntheticGeometry",
             f"syntheticgeometry_train_{k:05d}_triangle", f"images/SyntheticGeometry/train_{k:05d}.png")
            for k, (no, t, a) in enumerate([("", "ABC", "True"), ("no ", "BCD", "False"), ("", "ACD", "False")])
        ],
        "3d__size": [
            (f"The red cube is X times {d} than the blue cube." + SIZE + "(a) 2 (b) 1 (c) 0.5 ", a, list("abc"), "3d",
             "size", "single_answer", "CLEVR", f"CLEVR_train_{k:06d}", f"images/CLEVR/train_{k:06d}.png")
            for k, (d, a) in enumerate([("wider", "c"), ("taller", "a")])
        ],
    },
}  # fmt: skip
REPO = {"real": "VisOnlyQA_Eval_Real", "synthetic": "VisOnlyQA_Eval_Synthetic", "train": "VisOnlyQA_Train"}
COLUMNS = (
    "image_path", "question", "answer", "prompt_reasoning", "prompt_no_reasoning", "image_category",
    "task_category", "question_type", "response_options", "source", "id",
)  # fmt: skip
CORRUPT = ("real", "geometry__length", 0)  # undecodable bytes
NO_BYTES = ("synthetic", "3d__size", 1)  # a struct with a path and no bytes


def row(spec: Spec) -> dict[str, Any]:
    """A release row (the columns of dataset/test/*.jsonl in their order) from its spec."""
    q, answer, options, image_cat, task_cat, qtype, source, rid, image_path = spec
    opts = ", ".join(options)
    values = (image_path, q, answer, q + REASONING.format(opts), q + FINAL.format(opts), image_cat, task_cat, qtype)
    return dict(zip(COLUMNS, values)) | {"response_options": options, "source": source, "id": rid}


def png(seed: int) -> bytes:
    rng = random.Random(seed)
    size = 12 + seed % 7
    im = Image.new("RGB", (size, size + 3), tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(6):
        im.putpixel((rng.randrange(size), rng.randrange(size)), tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def image_seed(group: str, category: str, k: int) -> int:
    """A distinct image per row: the PNG of row k of a category is `png(image_seed(...))`."""
    return 1000 * list(REPO).index(group) + 50 * list(ROWS[group]).index(category) + k


def hf_features() -> bytes:
    """The schema metadata `datasets` writes (its Features), so the files read as the hub's do."""
    string = {"dtype": "string", "_type": "Value"}
    feats: dict[str, Any] = {"decoded_image": {"_type": "Image"}} | {c: string for c in COLUMNS}
    feats["response_options"] = {"feature": string, "_type": "Sequence"}
    return json.dumps({"info": {"features": feats}}).encode()


def write_parquet(path: Path, rows: list[dict[str, Any]], images: list[Any], row_group_size: int | None = None) -> Path:
    """`rows` with `images` (bytes, a {bytes, path} dict or None) as the decoded_image column, first as uploaded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    image_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    cells = [im if isinstance(im, dict) or im is None else {"bytes": im, "path": None} for im in images]
    columns = {"decoded_image": pa.array(cells, type=image_type)}
    for c in rows[0] if rows else COLUMNS:
        typ = pa.list_(pa.string()) if c == "response_options" else pa.string()
        columns[c] = pa.array([r.get(c) for r in rows], type=typ)
    table = pa.table(columns).replace_schema_metadata({b"huggingface": hf_features()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def build_visonlyqa(root: Path, corrupt: bool = False, real_dir: str = "VisOnlyQA_Eval_Real") -> Path:
    """The three repositories under `root` (real under `real_dir`); `corrupt` breaks the CORRUPT row's bytes and
    leaves the NO_BYTES row without any. Returns `root`."""
    for group, cats in ROWS.items():
        data = root / (real_dir if group == "real" else REPO[group]) / "data"
        for category, specs in cats.items():
            images: list[Any] = []
            for k, spec in enumerate(specs):
                images.append({"bytes": png(image_seed(group, category, k)), "path": Path(spec[8]).name})
                if corrupt and (group, category, k) == CORRUPT:
                    images[-1]["bytes"] = b"not an image"
                if corrupt and (group, category, k) == NO_BYTES:
                    images[-1]["bytes"] = None
            rows = [row(s) for s in specs]
            if group == "train":
                name = f"{category}-00000-of-00001-0123456789abcdef.parquet"
                write_parquet(data / name, rows, images, row_group_size=1 if category == "3d__size" else None)
            elif category == "geometry__triangle":  # two shards, the second written first
                write_parquet(data / f"{category}-00001-of-00002.parquet", rows[2:], images[2:])
                write_parquet(data / f"{category}-00000-of-00002.parquet", rows[:2], images[:2])
            else:
                write_parquet(data / f"{category}-00000-of-00001.parquet", rows, images)
    return root

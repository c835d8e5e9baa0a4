"""`seed_bench`: SEED-Bench (v1) image dimensions 1–9, four lettered choices; accuracy overall and per dimension.

Layout: `<root>/SEED-Bench.json` = {"questions": [{answer "A"–"D", choice_a..choice_d, data_id, data_type,
question, question_id, question_type_id}], "question_type": {name: id}} and the CC3M images in
`<root>/SEED-Bench-image/<data_id>` (the name as given, else with .jpg or .png appended). Video questions
(data_type "video") are skipped and counted in `dropped`. Items come in sha256(question_id) order, so `--limit N`
mixes the dimensions; ids are the question_id. `--data seed_bench=FILE.json` reads another annotation file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from harness.errors import InvalidInput
from harness.tasks.base import ImageError, Item, open_rgb
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, mean_stderr, scored
from harness.tasks.prompts import PromptSet, mc_templates
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, parse_int, read_json, resolve_root, stable_hash

ANNOTATIONS = "SEED-Bench.json"
IMAGE_DIR = "SEED-Bench-image"
IMAGE_EXTENSIONS = (".jpg", ".png")
CHOICE_KEYS = ("choice_a", "choice_b", "choice_c", "choice_d")
KEYS = ("answer", *CHOICE_KEYS, "data_id", "data_type", "question", "question_id", "question_type_id")
SPLITS = ("image",)
# LLaVA's SEED prompt (question, "A. …" lines, the letter instruction); text style ranks the choice texts,
# as SEED's own likelihood protocol does
PROMPTS = PromptSet(version="1", templates=mc_templates())
LAYOUT_HELP = (
    f"{ANNOTATIONS} ({{'questions': [{{answer, choice_a..choice_d, data_id, data_type, question, question_id, "
    f"question_type_id}}], 'question_type': {{name: id}}}}) + {IMAGE_DIR}/<data_id>[.jpg|.png]"
)


class SeedBench(DatasetTask):
    name = "seed_bench"
    prompts = PROMPTS

    def __init__(self, root: Path, seed: int = 0, file: Path | None = None):
        root = Path(root)
        self.file = Path(file) if file is not None else root / ANNOTATIONS
        if not self.file.is_file():
            raise DatasetNotFound(f"seed_bench: {self.file} not found. Expected layout: {LAYOUT_HELP}")
        self.images = root / IMAGE_DIR
        if not self.images.is_dir():
            raise DatasetNotFound(f"seed_bench: image folder {self.images} not found. Expected layout: {LAYOUT_HELP}")
        super().__init__(root, f"SEED-Bench release ({self.file.name} + {IMAGE_DIR}/)", "image", seed)

    def _build_items(self) -> list[Item]:
        data = read_json(self.file, "seed_bench")
        questions, types = data.get("questions"), data.get("question_type")
        if not isinstance(questions, list) or not isinstance(types, dict):
            raise DatasetFormatError(
                f"seed_bench: {self.file}: expected the keys 'questions' (a list) and 'question_type' (an object), "
                f"got {sorted(data)}. Expected layout: {LAYOUT_HELP}"
            )
        names = {parse_int(v, f"{self.file} question_type {k!r}", "id"): str(k) for k, v in types.items()}
        items: list[Item] = []
        self.dropped = {}
        for i, q in enumerate(questions):
            where = f"{self.file} questions[{i}]"
            if not isinstance(q, dict):
                raise DatasetFormatError(f"{where}: expected an object, got {type(q).__name__}")
            if q.get("data_type") != "image":
                if "data_type" not in q:
                    raise DatasetFormatError(f"{where}: missing 'data_type'")
                self.dropped["video"] = self.dropped.get("video", 0) + 1
                continue
            items.append(self._item(q, where, names))
        # sources.hash_order's key; duplicates stay in, for DatasetTask.load to name them
        return sorted(items, key=lambda it: (stable_hash("order", it.id), it.id))

    def _item(self, q: dict[str, Any], where: str, names: dict[int, str]) -> Item:
        missing = [k for k in KEYS if k not in q]
        if missing:
            raise DatasetFormatError(f"{where}: missing {missing}")
        qid = q["question_id"]
        if isinstance(qid, bool) or not isinstance(qid, (str, int)) or qid == "":
            raise DatasetFormatError(f"{where}: 'question_id' must be a string or an integer, got {qid!r}")
        where = f"{where} (question_id {qid})"
        choices = tuple(q[k] for k in CHOICE_KEYS)
        if not all(isinstance(c, str) and c.strip() for c in choices) or not isinstance(q["question"], str):
            raise DatasetFormatError(f"{where}: 'question' and choice_a..choice_d must be non-empty strings")
        answer = str(q["answer"]).strip().upper()
        if answer not in "ABCD" or len(answer) != 1:
            raise DatasetFormatError(f"{where}: 'answer' must be one of A, B, C, D, got {q['answer']!r}")
        type_id = parse_int(q["question_type_id"], where, "question_type_id")
        if type_id not in names:
            raise DatasetFormatError(
                f"{where}: question_type_id {type_id} is not in the file's question_type map {sorted(names)}"
            )
        return Item(
            id=str(qid),
            image=str(self._image(str(q["data_id"]))),
            question=q["question"],
            choices=tuple(c.strip() for c in choices),
            answer="ABCD".index(answer),
            meta={"dimension": names[type_id], "question_type_id": type_id, "data_id": str(q["data_id"])},
        )

    def _image(self, data_id: str) -> Path:
        """The first existing of data_id, data_id.jpg, data_id.png (the zip's naming is not documented)."""
        plain = self.images / data_id
        for p in (plain, *(plain.with_name(plain.name + ext) for ext in IMAGE_EXTENSIONS)):
            if p.is_file():
                return p
        return plain

    def load_image(self, item: Item) -> Image.Image:
        path = Path(item.image)
        if not path.is_file():
            raise ImageError(f"image not found: {path} (also tried {', '.join(IMAGE_EXTENSIONS)} appended)")
        return open_rgb(path)

    def where(self, item: Item) -> str:
        return f"{self.file} question_id {item.id!r}"

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """Accuracy per evaluation dimension (question_type), as SEED-Bench's eval.py reports it."""
        groups: dict[int, tuple[str, list[float]]] = {}
        for s in scored(samples):
            name, hits = groups.setdefault(s["meta"]["question_type_id"], (s["meta"]["dimension"], []))
            hits.append(float(s["pred"] == s["answer"]))
        return {"dimension": {name: mean_stderr(hits) for _, (name, hits) in sorted(groups.items())}}


@register("seed_bench")
def build(
    path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None
) -> SeedBench:
    """SEED-Bench v1 image questions (SEED-Bench.json + SEED-Bench-image/); 4 choices, accuracy per dimension."""
    if split and split not in SPLITS:
        raise InvalidInput(f"seed_bench: unknown split {split!r}; expected one of {SPLITS} (video is not scored)")
    root = resolve_root("seed_bench", path, data_root, "seed_bench", LAYOUT_HELP)
    if root.is_file():
        return SeedBench(root.parent, seed=seed, file=root).load()
    return SeedBench(root, seed=seed).load()

"""`mme`: the MME benchmark, 14 perception/cognition subtasks of yes/no questions, two per image.
Reads the release folders; records MME's per-subtask acc, acc+ and score, and the perception/cognition sums.

Layout: `MME_Benchmark_release_version/` (or `mme/`; also nested as `.../MME_Benchmark/`) with one folder per
subtask. A folder with `questions_answers_YN/` is in the split layout (`images/<stem>.jpg` +
`questions_answers_YN/<stem>.txt`: artwork, celebrity, landmark, posters, scene in the release; LLaVA's
convert_answer_to_mme.py decides the same way), any other is flat (`<stem>.jpg|.png` beside `<stem>.txt`).
Each txt line is `question<TAB>answer` (Yes/No; split on the TAB only, the questions keep their typos and
" Please answer yes or no."). Items: one per line, ids "<subtask>/<stem>/<line>", in the official subtask
order. `--tasks mme:perception`, `mme:cognition` or `mme:<subtask>` reads a part; absent subtask folders are
listed in `describe()` and left out of the sums.

Scoring follows the eval tool's calculation.py: acc over a subtask's questions ("other" answers are wrong),
acc+ = the fraction of its images with every question right, score = acc·100 + acc+·100, perception = the sum
over its 10 subtasks, cognition over its 4. Questions are paired by image stem, not by line adjacency as
calculation.py does (the same pairs for the release); an image with a question missing from the samples (an
error, a --limit) is left out of acc+ only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import InvalidInput
from harness.tasks.base import Item
from harness.tasks.dataset_task import DatasetTask
from harness.tasks.metrics import Metric, mean_stderr, scored
from harness.tasks.prompts import MC_SUFFIX, VQA_TAG, PromptSet
from harness.tasks.registry import register
from harness.tasks.sources import DatasetFormatError, DatasetNotFound, image_files, read_text, resolve_root

# LLaVA-1.5's MME prompt is the released question itself (it already asks for yes or no)
_OPTIONS = "{question}\n{options}\n" + MC_SUFFIX
PROMPTS = PromptSet(
    version="1",
    templates={
        "llava": {"options": _OPTIONS, "text": "{question}", "generate": "{question}"},
        "minigptv2": {
            "options": VQA_TAG + _OPTIONS,
            "text": VQA_TAG + "{question}",
            "generate": VQA_TAG + "{question}",
        },
    },
    words={"llava": ("Yes", "No"), "minigptv2": ("yes", "no")},
)
CHOICES = ("yes", "no")
PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR")
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")
SUBTASKS = PERCEPTION + COGNITION
ROOT_FOLDERS = ("mme", "MME_Benchmark_release_version")
NESTS = (".", "MME_Benchmark", "MME_Benchmark_release_version", "MME_Benchmark_release_version/MME_Benchmark")
LAYOUT_HELP = (
    "MME_Benchmark_release_version/<subtask>/ for the 14 subtasks (existence, OCR, code_reasoning, ...): "
    "<stem>.jpg|.png beside <stem>.txt, or images/<stem>.jpg + questions_answers_YN/<stem>.txt "
    "(artwork, celebrity, landmark, posters, scene); each txt line 'question<TAB>Yes|No'"
)


class Mme(DatasetTask):
    name = "mme"
    prompts = PROMPTS
    metric_names = ("perception", "cognition", "acc")

    def __init__(self, root: Path, subtasks: tuple[str, ...] = SUBTASKS, split: str = "all", seed: int = 0):
        root = Path(root)
        base = next((root / n for n in NESTS if any((root / n / s).is_dir() for s in SUBTASKS)), None)
        if base is None:
            raise DatasetNotFound(
                f"mme: no subtask folder ({', '.join(SUBTASKS[:4])}, ...) under {root} "
                f"(also looked in {', '.join(n + '/' for n in NESTS[1:])}). Expected layout: {LAYOUT_HELP}"
            )
        self.base = base
        self.folders: dict[str, tuple[Path, Path]] = {}  # subtask → (txt folder, image folder)
        self.missing = [s for s in subtasks if not (base / s).is_dir()]
        if len(self.missing) == len(subtasks):
            raise DatasetNotFound(
                f"mme: no folder of {split!r} ({', '.join(subtasks)}) under {base}. Expected layout: {LAYOUT_HELP}"
            )
        for s in subtasks:
            if s not in self.missing:
                self.folders[s] = _subtask_folders(base / s)
        n_split = sum(txt != img for txt, img in self.folders.values())
        where = "" if base == root else f"{base.relative_to(root).as_posix()}/: "
        layout = (
            f"MME release ({where}{len(self.folders)} subtasks, "
            f"{n_split} split images/ + questions_answers_YN/, {len(self.folders) - n_split} flat)"
        )
        super().__init__(root, layout, split, seed)

    def _build_items(self) -> list[Item]:
        items = []
        for subtask, (txt_dir, img_dir) in self.folders.items():
            images = {p.stem: p for p in reversed(image_files(img_dir))}  # .jpg before .png for a shared stem
            category = "perception" if subtask in PERCEPTION else "cognition"
            for txt in sorted(p for p in txt_dir.glob("*.txt") if not p.name.startswith(".")):
                rows = _read_pairs(txt)
                image = images.get(txt.stem, img_dir / f"{txt.stem}.jpg")
                for n, question, answer in rows:
                    meta = {"subtask": subtask, "image": txt.stem, "category": category, "image_questions": len(rows)}
                    items.append(
                        Item(
                            id=f"{subtask}/{txt.stem}/{n}",
                            image=str(image),
                            question=question,
                            choices=CHOICES,
                            answer=CHOICES.index(answer),
                            meta=meta,
                        )
                    )
        return items

    def describe(self) -> dict[str, Any]:
        layouts = {s: "split" if txt != img else "flat" for s, (txt, img) in self.folders.items()}
        return {**super().describe(), "subtasks": layouts, "subtasks_missing": list(self.missing)}

    def extract_answer(self, item: Item, generation: str) -> int:
        return parse_mme(generation)

    def metrics(self, samples: list[dict[str, Any]]) -> dict[str, Metric]:
        per = subtask_metrics(samples)
        out = {}
        for name, group in (("perception", PERCEPTION), ("cognition", COGNITION)):
            present = [s for s in group if s in per]
            if present:  # summed in the official order, as calculation.py does
                out[name] = Metric(sum(per[s]["score"].value for s in present))
        out["acc"] = mean_stderr([float(s["pred"] == s["answer"]) for s in scored(samples)])
        return out

    def breakdown(self, samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
        """{"subtask_score": {"existence": Metric, ...}, "subtask_acc": ..., "subtask_acc_plus": ...}."""
        per = subtask_metrics(samples)
        return {f"subtask_{k}": {s: m[k] for s, m in per.items()} for k in ("score", "acc", "acc_plus")}


def parse_mme(text: str) -> int:
    """calculation.py's parse_pred_ans on the lowercased, stripped answer: exactly "yes"/"no", else "yes" or
    "no" inside its first 4 characters, else "other" (-1, counted wrong). 0 = yes, 1 = no."""
    pred = text.strip().lower()
    if pred in CHOICES:
        return CHOICES.index(pred)
    head = pred[:4]
    return 0 if "yes" in head else 1 if "no" in head else -1


def subtask_metrics(samples: list[dict[str, Any]]) -> dict[str, dict[str, Metric]]:
    """Per present subtask (official order): acc over questions, acc_plus over complete images, score."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for s in scored(samples):
        by_task.setdefault(s["meta"]["subtask"], []).append(s)
    out = {}
    for subtask in sorted(by_task, key=lambda t: (SUBTASKS.index(t) if t in SUBTASKS else len(SUBTASKS), t)):
        rows = by_task[subtask]
        per_image: dict[str, list[bool]] = {}
        expected: dict[str, int] = {}
        for s in rows:
            per_image.setdefault(s["meta"]["image"], []).append(s["pred"] == s["answer"])
            expected[s["meta"]["image"]] = int(s["meta"].get("image_questions", 2))
        acc = mean_stderr([float(s["pred"] == s["answer"]) for s in rows])
        acc_plus = mean_stderr([float(all(v)) for k, v in per_image.items() if len(v) == expected[k]])
        out[subtask] = {"acc": acc, "acc_plus": acc_plus, "score": Metric(acc.value * 100 + acc_plus.value * 100)}
    return out


def _subtask_folders(folder: Path) -> tuple[Path, Path]:
    """(txt folder, image folder) of one subtask: split layout when questions_answers_YN/ exists, else flat."""
    qa, images = folder / "questions_answers_YN", folder / "images"
    if qa.is_dir() and not images.is_dir():
        raise DatasetNotFound(
            f"mme: {qa} exists but its image folder {images} does not. Expected layout: {LAYOUT_HELP}"
        )
    if images.is_dir() and not qa.is_dir():
        raise DatasetNotFound(
            f"mme: {images} exists but its questions folder {qa} does not. Expected layout: {LAYOUT_HELP}"
        )
    return (qa, images) if qa.is_dir() else (folder, folder)


def _read_pairs(txt: Path) -> list[tuple[int, str, str]]:
    """(line number, question, "yes"|"no") for every non-blank line of a release txt."""
    rows = []
    for n, line in enumerate(read_text(txt).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            hint = " (image<TAB>question<TAB>answer is eval_tool's Your_Results format)" if len(parts) == 3 else ""
            raise DatasetFormatError(
                f"{txt}:{n}: expected 'question<TAB>Yes|No' (one TAB), found {len(parts) - 1} TABs{hint}: {line[:80]!r}"
            )
        question, answer = parts[0].strip(), parts[1].strip().lower()
        if not question or answer not in CHOICES:
            raise DatasetFormatError(f"{txt}:{n}: expected 'question<TAB>Yes|No', got answer {parts[1].strip()!r}")
        rows.append((n, question, answer))
    if not rows:
        raise DatasetFormatError(f"{txt}: no 'question<TAB>Yes|No' lines")
    return rows


def parse_split(spec: str | None) -> tuple[str, ...]:
    """'' / 'all' → all 14; 'perception' / 'cognition' → their subtasks; a subtask name → that one."""
    if not spec or spec == "all":
        return SUBTASKS
    groups = {"perception": PERCEPTION, "cognition": COGNITION}
    if spec in groups:
        return groups[spec]
    if spec in SUBTASKS:
        return (spec,)
    raise InvalidInput(f"mme: unknown split {spec!r}; expected all, perception, cognition or one of {SUBTASKS}")


@register("mme")
def build(path: Path | None = None, data_root: Path | None = None, seed: int = 0, split: str | None = None) -> Mme:
    """MME release (14 subtasks, or `mme:perception`, `mme:OCR`); yes/no, per-subtask acc/acc+/score, sums."""
    if path is None and data_root is not None:
        path = next((Path(data_root) / f for f in ROOT_FOLDERS if (Path(data_root) / f).exists()), None)
        if path is None:
            raise DatasetNotFound(
                f"mme: neither {Path(data_root) / ROOT_FOLDERS[0]} nor {Path(data_root) / ROOT_FOLDERS[1]} exists. "
                f"Expected layout: {LAYOUT_HELP}"
            )
    root = resolve_root("mme", path, data_root, "mme", LAYOUT_HELP)
    return Mme(root, parse_split(split), split or "all", seed=seed).load()

"""The released LoRSU code's continual-session constants (aresPanos/LoRSU @ 6b30bcee).

Sources: `src/clip_ft/data_utils.py::get_cl_dataloaders` (CLIP tuning), `src/llava/train/train_llm.py::
get_train_dataloader_list` (LLaVA tuning), `src/clip_ft/datasets/*.py` and `src/llava/datasets/vqa_datasets.py`.
Class-id orders are split into sessions with `np.array_split(order, sessions)`.
"""

from __future__ import annotations


def _ids(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split())


# GTSRB ClassIds (the same order as SPU's), 9/9/9/8/8 classes for 5 sessions
GTSRB_ORDER = _ids(
    "25 2 11 1 40 27 5 9 17 32 29 20 39 21 15 23 10 3 18 38 42 14 22 35 34 19 33 12 26 41 "
    "0 37 6 13 24 30 28 31 7 16 4 36 8"
)
# FGVC-Aircraft variant indices (line of variants.txt, torchvision's FGVCAircraft class index), 20 per session
AIRCRAFT_ORDER = _ids(
    "23 8 11 7 48 13 1 91 94 54 16 63 52 41 80 2 47 87 78 66 19 6 24 10 59 30 22 29 83 37 "
    "93 81 43 99 86 28 34 88 44 14 84 70 4 20 15 21 31 76 57 67 73 50 69 25 98 46 96 0 72 35 "
    "58 92 3 95 56 90 26 40 55 89 75 71 60 42 9 82 39 18 77 68 32 79 12 85 36 17 64 27 74 45 "
    "61 38 51 62 65 33 5 53 97 49"
)
EUROSAT_ORDER = tuple(range(10))  # sorted class folders, 2 per session
# CounterAnimal ImageNet ids, 9 per session: the CLIP tuning's list (45 distinct ids)...
COUNTERANIMAL_CLIP_ORDER = _ids(
    "150 296 79 57 144 133 349 293 100 49 305 128 54 80 16 275 76 360 30 316 33 39 71 89 37 23 42 "
    "337 81 357 9 290 41 70 102 279 130 291 20 10 56 277 276 58 83"
)
# ...and the LLaVA tuning's list as released: 30 twice (positions 5 and 28), 33 missing
COUNTERANIMAL_LLAVA_RELEASED = _ids(
    "102 9 20 56 23 30 357 291 144 41 293 42 49 54 57 70 279 305 71 10 76 79 349 16 81 83 100 "
    "130 30 133 150 275 276 58 277 80 39 290 37 296 316 337 89 360 128"
)
TSI_SESSIONS = (
    ("WatchTV", "Laydown", "Sitdown", "Pour.Fromkettle", "Enter", "Drink.Frombottle"),
    ("Eat.Attable", "Pour.Frombottle", "Cook.Cleandishes", "Maketea.Boilwater", "Leave", "Cook.Cleanup"),
    ("Maketea.Insertteabag", "Makecoffee.Pourwater", "Drink.Fromcan", "Readbook", "Cutbread"),
    ("Drink.Fromcup", "Drink.Fromglass", "Usetablet", "Pour.Fromcan", "Usetelephone"),
    ("Walk", "Cook.Stir", "Makecoffee.Pourgrains", "Cook.Cut", "Uselaptop"),
)
# VSR (zeroshot train) objects ("obj") per session, 7/7/7/7/8
VSR_OBJECTS = (
    ("oven", "dining table", "spoon", "boat", "cake", "donut", "sandwich"),
    ("fire hydrant", "elephant", "airplane", "truck", "apple", "hot dog", "sheep"),
    ("kite", "baseball glove", "cow", "tie", "scissors", "toaster", "tv"),
    ("bicycle", "banana", "couch", "teddy bear", "bus", "umbrella", "bird"),
    ("potted plant", "bowl", "broccoli", "bottle", "knife", "orange", "person", "pizza"),
)
# VisOnlyQA_Train categories (its HF split names) per session
VISONLYQA_CATEGORIES = (
    ("syntheticgeometry__triangle",),
    ("syntheticgeometry__quadrilateral",),
    ("syntheticgeometry__length",),
    ("syntheticgeometry__angle",),
    ("syntheticgeometry__area", "3d__size", "3d__angle"),
)
VISONLYQA_ALL = 10000  # the number of points a session takes when few_shots is 0
MMVP_PER_SESSION = 30  # training questions per session (rows 0-1 of every 4 in Questions.csv)
QA_SIZES = ((6, 100), (21, 300))  # VSR/HM: shots < 6 keep 100 samples, < 21 keep 300, else 600
QA_SIZE_MAX = 600


def qa_session_size(shots: int) -> int:
    """How many samples a VSR/HM session keeps for `shots` (the released 100/300/600 rule)."""
    return next((size for bound, size in QA_SIZES if shots < bound), QA_SIZE_MAX)


def deduplicated(order: tuple[int, ...], universe: tuple[int, ...]) -> tuple[int, ...]:
    """`order` with each repeated id (after its first place) replaced by the ids of `universe` it lacks, smallest
    first: the released LLaVA CounterAnimal list becomes 45 distinct ids, 33 taking the second 30's place."""
    missing = sorted(set(universe) - set(order))
    seen: set[int] = set()
    out = []
    for c in order:
        out.append(c if c not in seen else missing.pop(0))
        seen.add(c)
    return tuple(out)


COUNTERANIMAL_LLAVA_ORDER = deduplicated(COUNTERANIMAL_LLAVA_RELEASED, COUNTERANIMAL_CLIP_ORDER)

"""A tiny FGVC-Aircraft 2013b release: the real variants.txt, split files in the release's format, small JPEGs
whose bottom 20 rows are a banner of another colour (the release's copyright banner)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

# fgvc-aircraft-2013b/data/variants.txt, in its order (torchvision's FGVCAircraft.classes read from it)
VARIANTS = tuple(
    (
        "707-320 727-200 737-200 737-300 737-400 737-500 737-600 737-700 737-800 737-900 747-100 747-200 747-300 "
        "747-400 757-200 757-300 767-200 767-300 767-400 777-200 777-300 A300B4 A310 A318 A319 A320 A321 A330-200 "
        "A330-300 A340-200 A340-300 A340-500 A340-600 A380 ATR-42 ATR-72 An-12"
    ).split()
    + [
        "BAE 146-200",
        "BAE 146-300",
        "BAE-125",
        "Beechcraft 1900",
        "Boeing 717",
        "C-130",
        "C-47",
        "CRJ-200",
        "CRJ-700",
        "CRJ-900",
        "Cessna 172",
        "Cessna 208",
        "Cessna 525",
        "Cessna 560",
        "Challenger 600",
        "DC-10",
        "DC-3",
        "DC-6",
        "DC-8",
        "DC-9-30",
        "DH-82",
        "DHC-1",
        "DHC-6",
        "DHC-8-100",
        "DHC-8-300",
        "DR-400",
        "Dornier 328",
        "E-170",
        "E-190",
        "E-195",
        "EMB-120",
        "ERJ 135",
        "ERJ 145",
        "Embraer Legacy 600",
        "Eurofighter Typhoon",
        "F-16A/B",
        "F/A-18",
        "Falcon 2000",
        "Falcon 900",
        "Fokker 100",
        "Fokker 50",
        "Fokker 70",
        "Global Express",
        "Gulfstream IV",
        "Gulfstream V",
        "Hawk T1",
        "Il-76",
        "L-1011",
        "MD-11",
        "MD-80",
        "MD-87",
        "MD-90",
        "Metroliner",
        "Model B200",
        "PA-28",
        "SR-20",
        "Saab 2000",
        "Saab 340",
        "Spitfire",
        "Tornado",
        "Tu-134",
        "Tu-154",
        "Yak-42",
    ]
)
# (image id, variant) per split; 1025794, 1340192 and 0056978 are real 707-320 image ids, the others made up
TEST = [
    ("0061240", "707-320"),
    ("0112793", "707-320"),
    ("1514522", "Cessna 172"),
    ("1514527", "Cessna 172"),
    ("1514530", "Cessna 172"),
    ("0497380", "F/A-18"),
    ("2229130", "BAE 146-200"),
    ("2229131", "BAE 146-200"),
    ("1952342", "Embraer Legacy 600"),
    ("0776903", "A380"),
    ("0776904", "A380"),
    ("1180640", "F-16A/B"),
]
TRAIN = [
    ("1025794", "707-320"),
    ("1340192", "707-320"),
    ("1514500", "Cessna 172"),
    ("0497301", "F/A-18"),
    ("0776800", "A380"),
    ("1180600", "F-16A/B"),
]
VAL = [("0056978", "707-320"), ("1514501", "Cessna 172"), ("2229100", "BAE 146-200"), ("0776801", "A380")]
SPLITS = {"test": TEST, "train": TRAIN, "val": VAL, "trainval": TRAIN + VAL}
WIDTH, TOP, BANNER = 48, 32, 20  # 32 rows: no 8-row JPEG block straddles the banner's edge
BANNER_RGB = (255, 0, 255)


def top_rgb(image_id: str) -> tuple[int, int, int]:
    """The picture's colour for one image (distinct per id, far from the banner's magenta)."""
    k = int(image_id)
    return (k % 7 * 20, 40 + k % 5 * 30, k % 3 * 40)


def write_aircraft_image(path: Path, image_id: str, height: int = TOP + BANNER) -> None:
    image = Image.new("RGB", (WIDTH, height), top_rgb(image_id))
    image.paste(BANNER_RGB, (0, height - BANNER, WIDTH, height))
    image.save(path, quality=95, subsampling=0)  # 4:4:4: no chroma bleeds across the banner edge


def build_aircraft(root: Path) -> Path:
    """`root/fgvc-aircraft-2013b/data/` as released (variants.txt, the four variant split files, images/);
    returns that data folder."""
    data = root / "fgvc-aircraft-2013b" / "data"
    (data / "images").mkdir(parents=True, exist_ok=True)
    (data / "variants.txt").write_text("".join(f"{v}\n" for v in VARIANTS))
    for split, rows in SPLITS.items():
        (data / f"images_variant_{split}.txt").write_text("".join(f"{i} {v}\n" for i, v in rows))
        for image_id, _ in rows:
            write_aircraft_image(data / "images" / f"{image_id}.jpg", image_id)
    return data

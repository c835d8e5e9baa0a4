"""`harness report`: the HTML page of items learned and forgotten, read back with html.parser."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from harness.cli import app
from harness.report.comparable import IncomparableRuns
from harness.report.flips import cap_items, task_reports
from harness.report.html_report import build_report, write_report
from harness.report.item_images import IMAGE_BYTES_MIN, IMAGE_BYTES_TOTAL, image_budget, thumbnail_jpeg
from harness.report.paired import compare_metric
from harness.report.runs import load_run
from tests.harness.report.fixtures import mc_samples, pattern, write_run
from tests.harness.report.html_check import assert_self_contained, decode_images, expected_flips, parse_page

EVIL = "<script>alert('x')</script> & \"q\""


def mcq_dataset(root: Path, n: int, size: tuple[int, int] = (640, 480), distinct: int = 40) -> Path:
    """An mcq_jsonl file with n items and n random-noise JPEG files (`distinct` different pictures)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    pics = []
    for k in range(min(n, distinct)):
        p = root / f"pic{k}.jpg"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(p, quality=90)
        pics.append(p)
    rows = []
    for i in range(n):
        shutil.copyfile(pics[i % len(pics)], root / f"img{i:04d}.jpg")
        q = f"Question {i}: {EVIL}"
        rows.append({"id": f"it{i:04d}", "image": f"img{i:04d}.jpg", "question": q, "choices": list("wxyz")})
    path = root / "data.jsonl"
    path.write_text("".join(json.dumps({**r, "answer": 0}) + "\n" for r in rows))
    return path


def mcq_run(root: Path, name: str, data: Path, correct: list[bool], prompt: str = "question", **kw) -> Path:
    """A run of `mcq_jsonl=data` recorded as the runner records it (the spec names the data file)."""
    ids = [f"it{i:04d}" for i in range(len(correct))]
    run = write_run(root, name, {"mcq_jsonl": mc_samples("mcq_jsonl", correct, ids=ids, prompt=prompt)}, **kw)
    res = json.loads((run / "results.json").read_text())
    res["config"]["tasks"] = [f"mcq_jsonl={data}"]
    res["tasks"]["mcq_jsonl"]["spec"] = f"mcq_jsonl={data}"
    (run / "results.json").write_text(json.dumps(res))
    return run


@pytest.fixture
def small(tmp_path):
    data = mcq_dataset(tmp_path / "data", 30, size=(64, 48))
    a = mcq_run(tmp_path / "runs", "zs", data, pattern(30, 20))
    b = mcq_run(tmp_path / "runs", "upd", data, pattern(30, 18, offset=5), encoder="ckpt/lorsu.pt", label="LoRSU")
    return data, a, b


def test_flip_counts_images_and_escaping(small, tmp_path):
    _, a, b = small
    out, warnings = write_report([load_run(a), load_run(b)], tmp_path / "r.html", n_boot=200)
    page = parse_page(out)
    want = expected_flips([a, b])
    assert page.flips == {("mcq_jsonl", 1): want[("mcq_jsonl", 1)]} and not warnings
    n_flipped = want[("mcq_jsonl", 1)]["forgotten"] + want[("mcq_jsonl", 1)]["learned"]
    assert len(page.cards) == n_flipped > 0
    kinds = [c["data-kinds"] for c in page.cards]
    assert kinds == sorted(kinds, key=lambda k: k != "forgotten")  # forgotten first
    images = decode_images(page)
    assert len(images) == n_flipped and all(max(im.size) <= 256 for im in images)
    assert_self_contained(out)
    html = out.read_text()
    assert EVIL not in html and "&lt;script&gt;" in html  # questions come from datasets: escaped


def test_flips_equal_harness_compare(small):
    _, a, b = small
    ra, rb = load_run(a), load_run(b)
    t = task_reports([ra, rb], n_boot=200)[0]
    m = compare_metric(ra, rb, "mcq_jsonl", "acc", n_boot=200).mcnemar
    assert (t.flips[0].forgotten, t.flips[0].learned, t.flips[0].p_value) == (m.a_only, m.b_only, m.p_value)


def test_refuses_runs_with_other_items_or_prompts(small, tmp_path):
    data, a, _ = small
    other = mcq_run(tmp_path / "runs", "fewer", data, pattern(25, 10), encoder="x.pt", label="fewer")
    reworded = mcq_run(tmp_path / "runs", "reworded", data, pattern(30, 10), prompt="asked", encoder="y.pt")
    for b in (other, reworded):
        with pytest.raises(IncomparableRuns):
            build_report([load_run(a), load_run(b)], n_boot=100)
        res = CliRunner().invoke(app, ["report", str(a), str(b), "--out", str(tmp_path / "x.html")])
        assert res.exit_code == 2 and "--force" in res.output and not (tmp_path / "x.html").exists()
    res = CliRunner().invoke(
        app, ["report", str(a), str(other), "--out", str(tmp_path / "f.html"), "--force", "--n-boot", "100"]
    )
    assert res.exit_code == 0, res.output
    assert any("item set" in n for n in parse_page(tmp_path / "f.html").notes)


def test_without_the_data_the_gallery_is_text_only(small, tmp_path):
    data, a, b = small
    moved = tmp_path / "moved"
    shutil.move(data.parent, moved)
    out, _ = write_report([load_run(a), load_run(b)], tmp_path / "r.html", n_boot=100)
    page = parse_page(out)
    assert not page.images and page.cards
    assert any("--data" in n and "no images" in n for n in page.notes)
    res = CliRunner().invoke(
        app,
        ["report", str(a), str(b), "--out", str(tmp_path / "d.html"), "--data", f"mcq_jsonl={moved / 'data.jsonl'}"],
    )
    assert res.exit_code == 0, res.output
    assert len(decode_images(parse_page(tmp_path / "d.html"))) == len(page.cards)


def test_cap_keeps_the_page_small_for_1000_flipped_items(tmp_path):
    n = 1000
    data = mcq_dataset(tmp_path / "data", n)
    a = mcq_run(tmp_path / "runs", "zs", data, [i < 600 for i in range(n)])
    b = mcq_run(tmp_path / "runs", "upd", data, [i >= 600 for i in range(n)], encoder="u.pt", label="upd")
    out, _ = write_report([load_run(a), load_run(b)], tmp_path / "r.html", n_boot=100)
    page = parse_page(out)
    assert out.stat().st_size < 6_000_000
    assert page.flips[("mcq_jsonl", 1)] == {"forgotten": 600, "learned": 400, "both_right": 0, "both_wrong": 0}
    assert len(page.cards) == 200 and len(decode_images(page)) == 200
    assert [c["data-kinds"] for c in page.cards].count("forgotten") == 100  # learned keep half the cap
    assert any("200 of 1000 flipped items shown, 800 left out" in n for n in page.notes)
    assert_self_contained(out)


def test_cap_order():
    class It:
        def __init__(self, kind):
            self.first_kind = kind

    items = [It("forgotten")] * 5 + [It("learned")] * 50
    assert [i.first_kind for i in cap_items(items, 10)].count("forgotten") == 5
    assert len(cap_items(items, 0)) == 0


def test_toy_world_runs(tmp_path):
    from safetensors.torch import load_file, save_file

    from harness.toy.build import MODELS_DIR, evaluate_llava

    sd = load_file(MODELS_DIR / "clip" / "model.safetensors")
    swapped = {
        k.replace("k_proj", "@").replace("v_proj", "k_proj").replace("@", "v_proj"): v.float()
        for k, v in sd.items()
        if k.startswith("vision_model.")
    }
    save_file(swapped, tmp_path / "kv.safetensors")
    zs = evaluate_llava(MODELS_DIR / "llava", tmp_path / "zs", 24, label="zero-shot")
    upd = evaluate_llava(MODELS_DIR / "llava", tmp_path / "kv", 24, encoder=str(tmp_path / "kv.safetensors"))
    dirs = [Path(zs["run_dir"]), Path(upd["run_dir"])]
    res = CliRunner().invoke(app, ["report", *map(str, dirs), "--out", str(tmp_path / "toy.html"), "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    page = parse_page(tmp_path / "toy.html")
    want = expected_flips(dirs)
    assert page.flips == want
    n_flipped = len(page.cards)
    assert n_flipped == sum(v["forgotten"] + v["learned"] for v in want.values()) > 0
    assert len(decode_images(page)) == n_flipped  # toy images are rendered from the item ids
    assert {c["data-cat"] for c in page.cards} <= {"color", "shape", "position", "yesno"}
    assert_self_contained(tmp_path / "toy.html")


def test_six_task_fixtures(tiny_llava_dir, tiny_open_clip_ckpt, tmp_path):
    """Every dataset task's release layout (with a corrupt image), zero-shot vs a swapped encoder."""
    from harness.eval.runner import EvalConfig, run_eval
    from tests.harness.tasks.fixtures import build_all_fixtures

    build_all_fixtures(tmp_path / "data", corrupt=True)
    six = ["tsi", "gts", "dalle", "vizwiz", "vsr", "hm"]
    dirs = []
    for name, enc in (("zs", None), ("swap", str(tiny_open_clip_ckpt))):
        cfg = EvalConfig(
            tasks=six,
            model=str(tiny_llava_dir),
            device="cpu",
            data_root=str(tmp_path / "data"),
            limit=8,
            max_errors=2,
            out=str(tmp_path / name),
            encoder=enc,
        )
        dirs.append(Path(run_eval(cfg, progress=False)["run_dir"]))
    out, _ = write_report([load_run(d) for d in dirs], tmp_path / "six.html", n_boot=200)
    page = parse_page(out)
    assert page.flips == expected_flips(dirs)
    assert {t for t, _ in page.flips} == set(six)
    html = out.read_text()
    for cat in ("By relation", "By answer type", "By action", "By class", "By split · label"):
        assert cat in html, cat
    assert len(decode_images(page)) == len(page.cards)  # every flipped item's image found through its task
    assert_self_contained(out)


@pytest.mark.parametrize("n_images", [1, 200, 1000, 5000])
def test_thumbnails_fit_their_budget(n_images):
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    budget = image_budget(n_images)
    jpeg = thumbnail_jpeg(noise, budget)
    with Image.open(io.BytesIO(jpeg)) as im:
        assert im.format == "JPEG" and max(im.size) <= 256
    assert len(jpeg) <= budget and n_images * budget <= max(IMAGE_BYTES_TOTAL, n_images * IMAGE_BYTES_MIN)


def test_three_runs_each_against_the_first(small, tmp_path):
    data, a, b = small
    c = mcq_run(tmp_path / "runs", "third", data, pattern(30, 25, offset=2), encoder="c.pt", label="third")
    out, _ = write_report([load_run(a), load_run(b), load_run(c)], tmp_path / "r3.html", n_boot=100)
    page = parse_page(out)
    want = expected_flips([a, b, c])
    assert page.flips == want and len(want) == 2
    ra, rb, rc = pattern(30, 20), pattern(30, 18, offset=5), pattern(30, 25, offset=2)
    either = sum(rb[i] != ra[i] or rc[i] != ra[i] for i in range(30))
    assert len(page.cards) == either > 0  # an item flipped in either run is shown once

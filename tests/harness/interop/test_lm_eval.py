"""lm-eval 0.4.x with `harness-vlm`: our YAML tasks equal `harness eval` item by item, the CLI users type
works, a user-written `multiple_choice` image YAML runs, and a foreign response cache is refused."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager

from harness.eval.engine import Request, plain_forward_scores
from harness.interop.lm_eval import TASK_DIR
from harness.interop.lm_eval_model import CacheMismatch, HarnessVLM, check_cache
from tests.conftest import random_image
from tests.harness.interop.conftest import LIMIT

ROOT = Path(__file__).resolve().parents[3]


def _tm(root, **meta):
    return TaskManager(include_path=str(TASK_DIR), include_defaults=False, metadata={"data_root": str(root), **meta})


@pytest.fixture(scope="module")
def lm(tiny_llava_dir):
    return HarnessVLM.create_from_arg_string(f"model={tiny_llava_dir},batch_size=4", {"device": "cpu"})


def _assert_same_as_harness(samples, results, harness_run, tasks):
    ref, ref_results = harness_run
    for task in tasks:
        assert len(samples[f"harness_{task}"]) == LIMIT
        for s in samples[f"harness_{task}"]:
            h = ref[(task, s["doc"]["id"])]
            got = [r[0][0] for r in s["resps"]]
            assert got == pytest.approx(h["logprobs"], abs=1e-5), (task, s["doc"]["id"])
            assert [r[0][1] for r in s["resps"]] == h["is_greedy"]
        metrics = ref_results["tasks"][task]["metrics"]
        for m in ("acc", "acc_norm"):
            assert results[f"harness_{task}"][f"{m},none"] == pytest.approx(metrics[m]["value"]), (task, m)


def test_simple_evaluate_equals_harness_eval(lm, interop_root, harness_run):
    res = simple_evaluate(
        model=lm, tasks=["harness_vsr", "harness_hm"], task_manager=_tm(interop_root), limit=LIMIT, bootstrap_iters=0
    )
    _assert_same_as_harness(res["samples"], res["results"], harness_run, ["vsr", "hm"])
    hm = harness_run[1]["tasks"]["hm"]["metrics"]["auroc"]["value"]
    got = res["results"]["harness_hm"]["auroc,none"]
    if hm is None:  # undefined (one class only in LIMIT items): null in results.json, NaN in lm-eval's results
        assert math.isnan(got)
    else:
        assert got == pytest.approx(hm)
    assert res["config"]["harness_fingerprint_sha256"] == lm.backend.fingerprint_sha256


def test_the_cli_users_type(tiny_llava_dir, interop_root, harness_run, tmp_path):
    """`python -m harness.interop.lm_eval run ...` with lm-eval's default --device besides model_args."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "harness.interop.lm_eval", "run", "--model", "harness-vlm"]
    cmd += ["--model_args", f"model={tiny_llava_dir},device=cpu,batch_size=4", "--tasks", "harness_vsr"]
    cmd += ["--limit", str(LIMIT), "--output_path", str(out), "--log_samples"]
    env = {**os.environ, "HARNESS_DATA_ROOT": str(interop_root), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())
    samples = [json.loads(x) for x in next(out.rglob("samples_harness_vsr_*.jsonl")).read_text().splitlines()]
    for s in samples:  # the sample log stores each choice's response as strings: [["-7.16", "False"]]
        s["resps"] = [[(float(r[0][0]), r[0][1] == "True")] for r in s["resps"]]
    _assert_same_as_harness({"harness_vsr": samples}, results["results"], harness_run, ["vsr"])


def test_a_user_written_multiple_choice_image_yaml(lm, tmp_path):
    """doc_to_image, letter options and acc_mutual_info (empty-context requests that carry the image)."""
    rows = []
    for k in range(3):
        path = tmp_path / f"im{k}.png"
        random_image(50 + k).save(path)
        rows.append({"image": str(path), "question": f"Which shape is number {k}?", "answer": k % 3})
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "utils.py").write_text(
        "from PIL import Image\n\ndef doc_to_image(doc):\n    return [Image.open(doc['image']).convert('RGB')]\n"
    )
    (tmp_path / "my_vqa.yaml").write_text(
        "task: my_vqa\ndataset_path: json\n"
        f"dataset_kwargs: {{data_files: {{test: {tmp_path / 'data.jsonl'}}}}}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_image: !function utils.doc_to_image\n"
        'doc_to_text: "<image>\\nQuestion: {{question}}\\nA. circle\\nB. square\\nC. star\\nAnswer:"\n'
        'doc_to_choice: ["A", "B", "C"]\ndoc_to_target: answer\nmetric_list:\n'
        "  - {metric: acc, aggregation: mean, higher_is_better: true}\n"
        "  - {metric: acc_mutual_info, aggregation: mean, higher_is_better: true}\nmetadata: {version: 1.0}\n"
    )
    tm = TaskManager(include_path=str(tmp_path), include_defaults=False)
    res = simple_evaluate(model=lm, tasks=["my_vqa"], task_manager=tm, bootstrap_iters=0)
    adapter = lm.backend.adapter
    for s in res["samples"]["my_vqa"]:
        image = random_image(50 + s["doc_id"])
        question = f"Question: Which shape is number {s['doc_id']}?\nA. circle\nB. square\nC. star\nAnswer:"
        for ctx, resps in ((question, s["resps"][:3]), ("", s["resps"][3:])):  # conditional, then unconditional
            ref = plain_forward_scores(adapter, Request("x", image, adapter.format_prompt(ctx), ("A", "B", "C")))
            assert [r[0][0] for r in resps] == pytest.approx(ref, abs=1e-5)
    assert "acc_mutual_info,none" in res["results"]["my_vqa"]


def test_a_cache_written_by_another_model_is_refused(lm, tiny_llava_dir, tiny_open_clip_ckpt, interop_root, tmp_path):
    cache = str(tmp_path / "cache" / "lm")
    kw = dict(tasks=["harness_vsr"], task_manager=_tm(interop_root), limit=2, bootstrap_iters=0, use_cache=cache)
    first = simple_evaluate(model=lm, **kw)
    again = simple_evaluate(model=lm, **kw)  # same fingerprint: served from the cache
    assert again["results"]["harness_vsr"] == first["results"]["harness_vsr"]
    swapped = HarnessVLM(model=str(tiny_llava_dir), device="cpu", encoder=str(tiny_open_clip_ckpt))
    with pytest.raises(CacheMismatch, match="written by model fingerprint"):
        simple_evaluate(model=swapped, **kw)
    res = simple_evaluate(model=swapped, **{**kw, "use_cache": str(tmp_path / "cache" / "swapped")})
    assert res["config"]["harness_encoder_swap"]["sha256"] == swapped.backend.swap["sha256"]
    assert res["config"]["harness_fingerprint"]["encoder_sha256"] == swapped.backend.swap["sha256"]


def test_the_cli_refuses_a_foreign_cache_in_one_line(tiny_llava_dir, interop_root, tmp_path, monkeypatch, capsys):
    """lm-eval's CLI with a response cache written by another model: one `error:` line, exit 2, no traceback."""
    from sqlitedict import SqliteDict

    from harness.interop.lm_eval import main
    from harness.interop.lm_eval_model import CACHE_KEY

    cache = tmp_path / "cache" / "lm"
    cache.parent.mkdir()
    with SqliteDict(f"{cache}_rank0.db", autocommit=True) as db:
        db[CACHE_KEY] = "0" * 64
    monkeypatch.setenv("HARNESS_DATA_ROOT", str(interop_root))
    args = ["run", "--model", "harness-vlm", "--model_args", f"model={tiny_llava_dir},device=cpu"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--tasks", "harness_vsr", "--limit", "1", "--use_cache", str(cache)])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "Traceback" not in err and err.count("error:") == 1, err
    line = next(x for x in err.splitlines() if x.startswith("error:"))
    assert line.startswith(f"error: --use_cache {cache}_rank0.db: this cache was written by model fingerprint 000000")


def test_the_cli_prints_a_wrapped_library_message_as_one_line(monkeypatch, capsys):
    """A user error whose message holds a library's line breaks still prints one `error:` line (issue 27, item 4)."""
    from lm_eval._cli import HarnessCLI

    from harness.errors import InvalidInput
    from harness.interop.lm_eval import main

    def fail(self, args):
        raise InvalidInput("model_args: the library said\n  something\n")

    monkeypatch.setattr(HarnessCLI, "execute", fail)
    with pytest.raises(SystemExit) as stop:
        main(["run", "--model", "harness-vlm", "--tasks", "harness_vsr"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.endswith("error: model_args: the library said something\n")


def test_check_cache_refuses_an_unfingerprinted_db():
    db = {"some-request-hash": (-1.0, True)}
    db_commit = type("D", (dict,), {"commit": lambda self: None})
    with pytest.raises(CacheMismatch, match="without a harness fingerprint"):
        check_cache(db_commit(db), "f" * 64, "c.db")
    fresh = db_commit()
    check_cache(fresh, "f" * 64, "c.db")
    check_cache(fresh, "f" * 64, "c.db")  # same model again: accepted
    with pytest.raises(CacheMismatch):
        check_cache(fresh, "e" * 64, "c.db")


def test_model_args_and_framework_options_merge(tiny_llava_dir):
    """lm-eval always passes device (default cuda:0) and batch_size: model_args win, no duplicate keyword."""
    lm = HarnessVLM.create_from_arg_obj(
        {"model": str(tiny_llava_dir), "device": "cpu", "batch_size": 3}, {"device": "cuda:0", "batch_size": 1}
    )
    assert str(lm.backend.adapter.device) == "cpu" and lm.backend.engine.batch_size == 3
    lm = HarnessVLM.create_from_arg_string(f"model={tiny_llava_dir}", {"device": "cpu", "batch_size": 2})
    assert str(lm.backend.adapter.device) == "cpu" and lm.backend.engine.batch_size == 2  # --device cpu
    with pytest.raises(ValueError, match="unknown model_args \\['pretrained'\\]"):
        HarnessVLM.create_from_arg_string("pretrained=x", {"device": "cpu"})


def test_the_six_yamls_load_and_render_the_harness_prompts(tmp_path, monkeypatch):
    """Every shipped YAML loads from $HARNESS_DATA_ROOT; documents carry exactly the harness prompt and options
    for the family and prompt style lm-eval hands over from model_args."""
    from harness.interop.lm_eval_docs import ENV_ROOT
    from harness.tasks.registry import build_task
    from tests.harness.tasks.fixtures import build_all_fixtures

    build_all_fixtures(tmp_path)
    monkeypatch.setenv(ENV_ROOT, str(tmp_path))
    meta = {"vlm": "minigptv2", "prompt_style": "text"}
    loaded = TaskManager(include_path=str(TASK_DIR), include_defaults=False, metadata=meta).load(
        [f"harness_{t}" for t in ("tsi", "gts", "dalle", "vizwiz", "vsr", "hm")]
    )["tasks"]
    assert len(loaded) == 6
    for name, task in loaded.items():
        ref = build_task(name.removeprefix("harness_"), data_root=tmp_path)
        docs = list(task.test_docs())
        items = list(ref.items())
        assert [d["id"] for d in docs] == [it.id for it in items]
        prompt = ref.prompt(items[0], "minigptv2", "text")
        assert task.doc_to_text(docs[0]) == prompt.instruction
        assert task.doc_to_choice(docs[0]) == list(prompt.continuations)
        assert task.doc_to_target(docs[0]) == items[0].answer


def test_no_data_root_is_a_clear_error(monkeypatch):
    from harness.errors import InputNotFound
    from harness.interop.lm_eval_docs import ENV_ROOT, docs

    monkeypatch.delenv(ENV_ROOT, raising=False)
    with pytest.raises(InputNotFound, match="HARNESS_DATA_ROOT"):
        docs("vsr", {})


def test_generate_until_is_the_adapters_greedy_generation_cut_at_until(lm):
    from lm_eval.api.instance import Instance

    from harness.interop.core import cut

    images = [random_image(70 + k) for k in range(4)]
    texts = [f"<image>\nWhat is in picture {k}?" for k in range(4)]
    kwargs = [{"until": ["\n"], "max_gen_toks": 4}] * 3 + [{"until": ["e"], "max_gen_toks": 2}]
    reqs = [
        Instance("generate_until", {}, (t, kw, {"visual": [im]}), 0, ("t", k, 1))
        for k, (t, kw, im) in enumerate(zip(texts, kwargs, images))
    ]
    got = lm.generate_until(reqs)
    adapter = lm.backend.adapter
    ids = [adapter.encode(adapter.format_prompt(t.removeprefix("<image>\n"))) for t in texts]
    want = [cut(x, ["\n"]) for x in adapter.generate(images[:3], ids[:3], 4)]
    want += [cut(x, ["e"]) for x in adapter.generate(images[3:], ids[3:], 2)]
    assert got == want
    with pytest.raises(ValueError, match="greedily"):
        lm.generate_until([Instance("generate_until", {}, (texts[0], {"do_sample": True}, {"visual": [images[0]]}), 0)])


def test_documents_rendered_for_another_prompt_style_are_refused(lm, interop_root):
    with pytest.raises(ValueError, match="rendered for llava/text but the model is llava/options"):
        simple_evaluate(model=lm, tasks=["harness_vsr"], task_manager=_tm(interop_root, prompt_style="text"), limit=1)

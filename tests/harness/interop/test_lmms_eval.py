"""lmms-eval 0.7.x with `--model harness`: the pyproject entry point resolves through lmms-eval's registry,
`loglikelihood` equals `harness eval`, and the CLI users type runs a multiple_choice task (with our
`mc_results` hook) and a generate_until task."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from lmms_eval.api.instance import Instance
from lmms_eval.models.registry_v2 import ModelRegistryV2

from harness.interop.lm_eval_docs import doc_to_image, docs
from harness.interop.lmms_eval_model import HarnessLMMS
from tests.harness.interop.conftest import LIMIT

ROOT = Path(__file__).resolve().parents[3]
N_CLI = 3


@pytest.fixture(scope="module")
def entry_point_path(tmp_path_factory) -> Path:
    """A dist-info holding pyproject's `lmms_eval.models` entry points, as `pip install` writes them."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["lmms_eval.models"]
    path = tmp_path_factory.mktemp("ep")
    info = path / "harness_interop_entry-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-interop-entry\nVersion: 0\n")
    lines = "".join(f"{k} = {v}\n" for k, v in table.items())
    (info / "entry_points.txt").write_text(f"[lmms_eval.models]\n{lines}")
    return path


@pytest.fixture(scope="module")
def vsr_rows(interop_root) -> list[dict]:
    return [dict(r) for r in docs("vsr", {"data_root": str(interop_root)})["test"]][:LIMIT]


def test_the_entry_point_resolves(entry_point_path):
    sys.path.insert(0, str(entry_point_path))
    try:
        registry = ModelRegistryV2()
        registry.load_entrypoint_manifests(overwrite=True)
        assert registry.get_model_class("harness") is HarnessLMMS
    finally:
        sys.path.remove(str(entry_point_path))


def test_loglikelihood_equals_harness_eval(tiny_llava_dir, vsr_rows, harness_run):
    lm = HarnessLMMS.create_from_arg_string(f"model={tiny_llava_dir},batch_size=4", {"device": "cpu"})
    lm.task_dict = {"t": {"test": vsr_rows}}
    reqs = [
        Instance(
            "loglikelihood",
            (r["instruction"], " " + c, doc_to_image, i, "t", "test"),
            k,
            {"task": "t", "doc_id": i, "repeats": 1},
        )
        for i, r in enumerate(vsr_rows)
        for k, c in enumerate(r["choices"])
    ]
    got = lm.loglikelihood(reqs)
    samples = [harness_run[0][("vsr", r["id"])] for r in vsr_rows]
    ref = [(lp, g) for s in samples for lp, g in zip(s["logprobs"], s["is_greedy"])]
    assert [x for x, _ in got] == pytest.approx([x for x, _ in ref], abs=1e-5)
    assert [g for _, g in got] == [g for _, g in ref]


def test_unconditional_requests_score_the_image_with_no_question(tiny_llava_dir, vsr_rows):
    """acc_mutual_info's `('', choice)` requests (no visual in lmms-eval's shape) score their document's image
    with no question, equal to a plain forward, as the lm-eval bridge does; one without its document is refused."""
    from harness.errors import InvalidInput
    from harness.eval.engine import Request, plain_forward_scores
    from harness.tasks.base import open_rgb

    lm = HarnessLMMS.create_from_arg_string(f"model={tiny_llava_dir},batch_size=4", {"device": "cpu"})
    lm.task_dict = {"t": {"test": vsr_rows}}
    rows = vsr_rows[:2]
    meta = [{"task": "t", "doc_id": i, "repeats": 1} for i in range(len(rows))]
    cond = [
        Instance("loglikelihood", (r["instruction"], " " + c, doc_to_image, i, "t", "test"), k, meta[i])
        for i, r in enumerate(rows)
        for k, c in enumerate(r["choices"])
    ]
    uncond = [
        Instance("loglikelihood", ("", c), k, meta[i]) for i, r in enumerate(rows) for k, c in enumerate(r["choices"])
    ]
    got = lm.loglikelihood(cond + uncond)[len(cond) :]
    adapter = lm.backend.adapter
    ref = []
    for r in rows:
        req = Request("x", open_rgb(Path(r["image"])), adapter.format_prompt(""), tuple(r["choices"]), "")
        ref += plain_forward_scores(adapter, req)
    assert [x for x, _ in got] == pytest.approx(ref, abs=1e-5)
    with pytest.raises(InvalidInput, match="doc 1: .*unconditional"):
        lm.loglikelihood(cond[: len(rows[0]["choices"])] + uncond)


def test_the_cli_users_type(tiny_llava_dir, vsr_rows, harness_run, entry_point_path, tmp_path):
    """`lmms-eval --model harness --model_args ... --tasks ... --include_path DIR` on a multiple_choice and a
    generate_until YAML over the same VSR documents."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "vsr.jsonl").write_text("\n".join(json.dumps(r) for r in vsr_rows[:N_CLI]))
    base = (
        f"dataset_path: json\ndataset_kwargs: {{data_files: {{test: {tasks / 'vsr.jsonl'}}}}}\ntest_split: test\n"
        "doc_to_visual: !function harness.interop.lm_eval_docs.doc_to_image\ndoc_to_text: instruction\n"
    )
    (tasks / "mc.yaml").write_text(
        "task: hv_mc\n" + base + "output_type: multiple_choice\ndoc_to_choice: choices\ndoc_to_target: answer\n"
        "process_results: !function harness.interop.lmms_eval_model.mc_results\n"
        "metric_list:\n  - {metric: acc, aggregation: mean, higher_is_better: true}\n"
    )
    (tasks / "gen.yaml").write_text(
        "task: hv_gen\n" + base + 'output_type: generate_until\ndoc_to_target: "{{choices[answer]}}"\n'
        'generation_kwargs: {max_new_tokens: 3, until: ["\\n"], do_sample: false}\n'
        "metric_list:\n  - {metric: exact_match, aggregation: mean, higher_is_better: true}\n"
    )
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lmms_eval", "--model", "harness", "--tasks", "hv_mc,hv_gen"]
    cmd += ["--model_args", f"model={tiny_llava_dir},device=cpu,batch_size=4", "--include_path", str(tasks)]
    cmd += ["--output_path", str(out), "--log_samples"]
    paths = [str(ROOT), str(entry_point_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ref = [harness_run[0][("vsr", r["id"])] for r in vsr_rows[:N_CLI]]
    results = json.loads(next(out.rglob("*_results.json")).read_text())["results"]
    assert results["hv_mc"]["acc,none"] == pytest.approx(sum(s["correct"] for s in ref) / N_CLI)
    mc = [json.loads(x) for x in next(out.rglob("*_samples_hv_mc.jsonl")).read_text().splitlines()]
    for s in mc:  # lmms-eval 0.7.3 logs str() of each (log-prob, greedy) pair; a float's repr is exact
        got = [ast.literal_eval(r)[0] for r in s["filtered_resps"]]
        assert got == pytest.approx(ref[s["doc_id"]]["logprobs"], abs=1e-5)
    gen = [json.loads(x) for x in next(out.rglob("*_samples_hv_gen.jsonl")).read_text().splitlines()]
    lm = HarnessLMMS(model=str(tiny_llava_dir), device="cpu")
    images = [doc_to_image(r)[0] for r in vsr_rows[:N_CLI]]
    contexts = [r["instruction"] for r in vsr_rows[:N_CLI]]
    want = lm.backend.generate(images, contexts, {"max_gen_toks": 3, "until": ["\n"]})
    assert [s["filtered_resps"] for s in sorted(gen, key=lambda s: s["doc_id"])] == want

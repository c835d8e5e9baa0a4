"""model_arg `peft=DIR` in both bridges: the adapter is merged before the encoder swap, the scores equal
`harness eval --peft DIR` item by item, and the adapter's sha256 is in the fingerprint and the framework's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.adapters.peft_merge import peft_sha256
from harness.eval.runner import EvalConfig, run_eval
from harness.interop.lm_eval_docs import doc_to_image, docs
from tests.harness.eval.peft_fixtures import save_lora_llm
from tests.harness.interop.conftest import LIMIT


@pytest.fixture(scope="module")
def lora(tiny_llava_dir, tmp_path_factory) -> Path:
    return save_lora_llm(tiny_llava_dir, tmp_path_factory.mktemp("bridge_lora") / "lora")


@pytest.fixture(scope="module")
def peft_run(tiny_llava_dir, interop_root, lora, tmp_path_factory) -> dict[str, dict]:
    """`harness eval --tasks vsr --peft DIR`: samples by id."""
    out = tmp_path_factory.mktemp("peft_run") / "run"
    cfg = EvalConfig(tasks=["vsr"], model=str(tiny_llava_dir), device="cpu", data_root=str(interop_root),
                     out=str(out), limit=LIMIT, peft=str(lora))  # fmt: skip
    run_eval(cfg, progress=False)
    return {s["id"]: s for s in map(json.loads, (out / "samples.jsonl").read_text().splitlines())}


def test_lm_eval_with_a_peft_adapter_equals_harness_eval(tiny_llava_dir, interop_root, lora, peft_run):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from harness.interop.lm_eval import TASK_DIR
    from harness.interop.lm_eval_model import HarnessVLM

    lm = HarnessVLM.create_from_arg_string(f"model={tiny_llava_dir},batch_size=4,peft={lora}", {"device": "cpu"})
    tm = TaskManager(include_path=str(TASK_DIR), include_defaults=False, metadata={"data_root": str(interop_root)})
    res = simple_evaluate(model=lm, tasks=["harness_vsr"], task_manager=tm, limit=LIMIT, bootstrap_iters=0)
    samples = res["samples"]["harness_vsr"]
    assert len(samples) == LIMIT
    for s in samples:
        assert [r[0][0] for r in s["resps"]] == pytest.approx(peft_run[s["doc"]["id"]]["logprobs"], abs=1e-5)
    sha = peft_sha256(lora)
    assert res["config"]["harness_peft"]["sha256"] == sha and res["config"]["harness_fingerprint"]["peft_sha256"] == sha
    plain = HarnessVLM.create_from_arg_string(f"model={tiny_llava_dir}", {"device": "cpu"})
    assert "peft_sha256" not in plain.backend.fingerprint and plain.backend.peft is None


def test_lmms_eval_with_a_peft_adapter_equals_harness_eval(tiny_llava_dir, interop_root, lora, peft_run):
    from lmms_eval.api.instance import Instance

    from harness.interop.lmms_eval_model import HarnessLMMS

    rows = [dict(r) for r in docs("vsr", {"data_root": str(interop_root)})["test"]][:LIMIT]
    lm = HarnessLMMS.create_from_arg_string(f"model={tiny_llava_dir},batch_size=4,peft={lora}", {"device": "cpu"})
    lm.task_dict = {"t": {"test": rows}}
    reqs = [
        Instance("loglikelihood", (r["instruction"], " " + c, doc_to_image, i, "t", "test"), k,
                 {"task": "t", "doc_id": i, "repeats": 1})
        for i, r in enumerate(rows)
        for k, c in enumerate(r["choices"])
    ]  # fmt: skip
    got = [x for x, _ in lm.loglikelihood(reqs)]
    assert got == pytest.approx([lp for r in rows for lp in peft_run[r["id"]]["logprobs"]], abs=1e-5)
    assert lm.backend.model_info()["harness_peft"]["sha256"] == peft_sha256(lora)


def test_a_bad_peft_model_arg_fails_before_the_model_loads(tmp_path, monkeypatch):
    import harness.interop.core as core
    from harness.errors import InputNotFound

    monkeypatch.setattr(core, "load_vlm", lambda *a, **k: pytest.fail("the model was loaded"))
    with pytest.raises(InputNotFound, match=f"model_args peft {tmp_path / 'nope'}: no such directory"):
        core.Backend(model="x", peft=str(tmp_path / "nope"))

"""On the toy world, LoRSU through the VLM (the toy LLaVA's own answer loss) improves the target domain (outlines)
over zero-shot, measured by the ordinary `harness eval` path on held-out items."""

from __future__ import annotations

from harness.adapters.registry import load_vlm
from harness.tasks.toy_world import ToyWorldTask
from harness.toy.build import MODELS_DIR, evaluate_llava
from harness.tune.config import TuneConfig
from harness.tune.run import tune
from harness.tune.vlm_data import question_answers
from harness.tune.vlm_target import VlmTarget

ITEMS = 200


def _target_acc(out, encoder=None) -> float:
    run = evaluate_llava(MODELS_DIR / "llava", out, ITEMS, encoder=encoder, label="x")
    return run["tasks"]["toy_target"]["metrics"]["acc"]["value"]


def test_lorsu_through_the_vlm_improves_the_target_domain(tmp_path):
    adapter = load_vlm("llava", str(MODELS_DIR / "llava"), "float32", "cpu")
    data = question_answers(ToyWorldTask("target", "train", size=512), "llava", "text")
    cfg = TuneConfig(method="lorsu", objective="vlm", epochs=2, lr=5e-4, batch_size=16, importance_samples=256)
    record = tune(VlmTarget(adapter), data, cfg, tmp_path / "lorsu", task="toy_target", progress=False)
    ckpt = tmp_path / "lorsu" / "session-1" / record["sessions"][0]["files"]["release"]
    before, after = _target_acc(tmp_path / "zs"), _target_acc(tmp_path / "tuned", str(ckpt))
    assert after >= before + 0.03, (before, after)

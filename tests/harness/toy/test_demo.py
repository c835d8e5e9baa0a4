"""The embedded default: the toy world demo runs end to end, and its zero-shot evaluation is the
regression gate the project's CI relies on (scores far from chance, so mistakes move them)."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from harness.demo import FULL, run_demo, zero_shot
from harness.report.gate import check_run, read_baseline
from harness.report.runs import load_run
from harness.toy.build import MODELS_DIR, evaluate_llava

BASELINE = Path(__file__).resolve().parents[3] / "results" / "baselines" / "demo-zero-shot.json"


def test_zero_shot_passes_the_committed_baseline(tmp_path):
    res = zero_shot(tmp_path, FULL, progress=False)
    report = check_run(load_run(Path(res["run_dir"])), read_baseline(BASELINE))
    assert report.passed, report
    control, target = (res["tasks"][k]["metrics"]["acc"]["value"] for k in ("toy_control", "toy_target"))
    assert control > 0.9 and target < control  # far from chance (~0.31) and a real domain gap


def test_gate_catches_an_encoder_mapping_mistake(tmp_path):
    """Swap in the toy CLIP's own weights with k_proj/v_proj exchanged, as a buggy qkv split would."""
    sd = load_file(MODELS_DIR / "clip" / "model.safetensors")
    bad = {}
    for k, v in sd.items():
        if k.startswith("vision_model."):
            k2 = k.replace("k_proj", "@").replace("v_proj", "k_proj").replace("@", "v_proj")
            bad[k2] = v.float()
    path = tmp_path / "mapped_wrong.safetensors"
    save_file(bad, path)
    res = evaluate_llava(MODELS_DIR / "llava", tmp_path / "run", FULL.eval_items, encoder=str(path))
    report = check_run(load_run(Path(res["run_dir"])), read_baseline(BASELINE))
    assert not report.passed
    assert res["encoder"]["swap_report"]["tensors_changed"] > 0


def test_quick_demo_end_to_end(tmp_path):
    runs = run_demo(tmp_path, quick=True)
    assert [r["label"] for r in runs] == ["zero-shot", "lorsu", "ln", "lorsu-vlm", "lora-llm"]
    assert (tmp_path / "tradeoff.png").stat().st_size > 0 and (tmp_path / "tradeoff.pdf").exists()
    tuned = json.loads((tmp_path / "tune" / "lorsu" / "tune.json").read_text())
    assert tuned["method"] == "lorsu" and tuned["complete"]
    assert runs[1]["encoder"]["swap_report"]["format"] == "lorsu"
    # through the VLM: LoRSU's tower export swapped back in its own names, LoRA-LLM's adapter merged with --peft
    assert runs[3]["encoder"]["swap_report"]["tensors_changed"] > 0 and runs[3]["peft"] is None
    assert runs[4]["encoder"] is None and runs[4]["peft"]["modules_merged"] > 0
    assert runs[4]["peft"]["tower_modules_merged"] == 0
    for label in ("lorsu-vlm", "lora-llm"):
        tuned = json.loads((tmp_path / "tune" / label / "tune.json").read_text())
        assert tuned["objective"] == "vlm_answer_cross_entropy" and tuned["complete"], tuned
    page = (tmp_path / "report.html").read_text()  # zero-shot vs LoRSU, items learned and forgotten
    assert page.startswith("<!DOCTYPE html>") and "toy_target" in page and "lorsu" in page
    # the continual study: 3 sessions of each method, the matrices in the page and the plot beside it
    sessions = sorted(p.name for p in (tmp_path / "runs" / "continual").iterdir())
    assert sessions == [f"{m}-session-{s}" for m in ("ln", "lorsu") for s in (1, 2, 3)]
    assert "Continual learning" in page and "toy_target·s3" in page and "BWT" in page
    assert (tmp_path / "continual.png").stat().st_size > 10_000

    # every method's sessions move the scores: a row of the matrix that equals zero-shot throughout shows nothing
    def accs(run: str) -> dict[str, float]:
        tasks = json.loads((tmp_path / "runs" / run / "results.json").read_text())["tasks"]
        return {t: r["metrics"]["acc"]["value"] for t, r in tasks.items()}

    zero = accs("zero-shot")
    for method in ("lorsu", "ln"):
        rows = [accs(f"continual/{method}-session-{s}") for s in (1, 2, 3)]
        assert any(row != zero for row in rows), (method, zero, rows)

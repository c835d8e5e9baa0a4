"""`harness eval --peft DIR`: a LoRA-LLM adapter merged into the VLM before the encoder swap scores exactly what the
merged model's plain forward scores (issue 28), is recorded (sha256, path, the export's session and method) and
fingerprinted (resuming with another adapter is refused), and an adapter for another base model is refused in one
line with nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.eval.engine import Request, plain_forward_scores
from harness.tasks.base import open_rgb
from harness.tasks.toy_shapes import write_mcq_set
from harness.toy.tiny_llava import TinySpec, build_tiny_llava
from tests.harness.eval.peft_fixtures import merged_reference, save_lora_llm, session_export

runner = CliRunner()


@pytest.fixture(scope="module")
def mcq(tmp_path_factory) -> Path:
    return write_mcq_set(tmp_path_factory.mktemp("peft_data"), 6, seed=7)


@pytest.fixture(scope="module")
def lora(tiny_llava_dir, tmp_path_factory) -> Path:
    """Session 2 of a LoRA-LLM session export."""
    return session_export(tiny_llava_dir, tmp_path_factory.mktemp("peft") / "lora-llm")


def _eval(model: Path, mcq: Path, out: Path, *extra: str) -> list[str]:
    return ["eval", "--tasks", f"mcq_jsonl={mcq}", "--model", str(model), "--device", "cpu", "--batch-size", "3",
            "--out", str(out), "--quiet", *extra]  # fmt: skip


def _samples(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]


def _assert_plain_forward(adapter, mcq: Path, samples: list[dict]) -> None:
    rows = {json.loads(x)["id"]: json.loads(x) for x in mcq.read_text().splitlines()}
    for s in samples:
        image = open_rgb(mcq.parent / rows[s["id"]]["image"])
        req = Request(s["id"], image, s["prompt"], tuple(s["continuations"]), "")
        assert s["logprobs"] == pytest.approx(plain_forward_scores(adapter, req), abs=1e-4), s["id"]


def test_a_lora_llm_adapter_scores_as_the_merged_models_plain_forward(tiny_llava_dir, lora, mcq, tmp_path):
    """Issue 28's acceptance, in both prompt styles (letters: the prefill; option texts: the packed extend), against
    peft's own merge of a fresh load and against its unmerged LoRA layers."""
    merged = merged_reference(tiny_llava_dir, lora)
    unmerged = merged_reference(tiny_llava_dir, lora, merge=False)
    for style in ("options", "text"):
        out = tmp_path / style
        res = runner.invoke(app, [*_eval(tiny_llava_dir, mcq, out, "--peft", str(lora)), "--prompt-style", style])
        assert res.exit_code == 0, res.output
        samples = _samples(out)
        assert len(samples) == 6
        _assert_plain_forward(merged, mcq, samples)
        _assert_plain_forward(unmerged, mcq, samples)


def test_the_adapter_changes_the_scores_and_is_recorded(tiny_llava_dir, lora, mcq, tmp_path, monkeypatch):
    from harness.adapters.peft_merge import peft_sha256

    monkeypatch.chdir(tmp_path)  # default run directories: results/runs/<vlm>-<label>-<hash>
    assert runner.invoke(app, _eval(tiny_llava_dir, mcq, tmp_path / "plain")).exit_code == 0
    args = _eval(tiny_llava_dir, mcq, tmp_path / "x", "--peft", str(lora))
    del args[args.index("--out") : args.index("--out") + 2]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    (run,) = (tmp_path / "results" / "runs").iterdir()
    assert run.name.startswith("llava-lora-llm-session-2-")
    plain, adapted = _samples(tmp_path / "plain"), _samples(run)
    assert all(a["logprobs"] != p["logprobs"] for a, p in zip(adapted, plain))
    results = json.loads((run / "results.json").read_text())
    sha = peft_sha256(lora)
    assert results["peft"]["sha256"] == sha and results["peft"]["path"] == str(lora)
    assert results["peft"]["modules_merged"] == 14 and results["peft"]["tower_modules_merged"] == 0  # 2 layers × 7
    assert results["peft"]["export"]["session_classes"] == ["c2"]
    assert results["label"] == "lora-llm-session-2" and results["encoder"] is None
    assert results["encoder_meta"] == {"method": "lora-llm", "session": "2", "task": "mcq_jsonl", "seed": "3",
                                       "sessions": "2"}  # fmt: skip
    assert json.loads((run / "config.json").read_text())["peft_sha256"] == sha
    assert "peft_sha256" not in json.loads((tmp_path / "plain" / "config.json").read_text())

    from harness.report.continual import run_meta, session_of
    from harness.report.runs import load_run

    loaded = load_run(run)
    assert not loaded.is_zero_shot and session_of(loaded) == 2 and run_meta(loaded)["session_classes"] == ["c2"]
    assert load_run(tmp_path / "plain").is_zero_shot


def test_an_adapter_beside_an_encoder_swap(tiny_llava_dir, tiny_open_clip_ckpt, lora, mcq, tmp_path):
    """The adapter merges first, then the encoder swaps in: the scores are the plain forward of that model and
    differ from the adapter alone and from the encoder alone."""
    enc = ["--encoder", str(tiny_open_clip_ckpt)]
    res = runner.invoke(app, _eval(tiny_llava_dir, mcq, tmp_path / "both", "--peft", str(lora), *enc))
    assert res.exit_code == 0, res.output
    both = _samples(tmp_path / "both")
    _assert_plain_forward(merged_reference(tiny_llava_dir, lora, tiny_open_clip_ckpt), mcq, both)
    results = json.loads((tmp_path / "both" / "results.json").read_text())
    assert results["encoder"]["sha256"] and results["peft"]["sha256"]
    assert results["label"] == f"{tiny_open_clip_ckpt.stem}+lora-llm-session-2"
    assert runner.invoke(app, _eval(tiny_llava_dir, mcq, tmp_path / "enc", *enc)).exit_code == 0
    assert all(a["logprobs"] != b["logprobs"] for a, b in zip(both, _samples(tmp_path / "enc")))


def test_resuming_with_another_adapter_or_none_is_refused_before_loading(tiny_llava_dir, lora, mcq, tmp_path, loads):
    out = tmp_path / "run"
    assert runner.invoke(app, _eval(tiny_llava_dir, mcq, out, "--peft", str(lora))).exit_code == 0
    loads.clear()
    other = lora.parent.parent / "session-1" / "peft"
    for extra in (["--peft", str(other)], []):
        res = runner.invoke(app, _eval(tiny_llava_dir, mcq, out, *extra), env={"COLUMNS": "400"})
        assert res.exit_code == 2 and "peft_sha256" in res.output and res.output.count("error:") == 1, res.output
    plain = tmp_path / "plain"
    assert runner.invoke(app, _eval(tiny_llava_dir, mcq, plain, "--limit", "1")).exit_code == 0
    loads.clear()
    res = runner.invoke(app, _eval(tiny_llava_dir, mcq, plain, "--limit", "1", "--peft", str(lora)))
    assert res.exit_code == 2 and "peft_sha256" in res.output
    assert loads == []
    res = runner.invoke(app, _eval(tiny_llava_dir, mcq, out, "--peft", str(lora)))  # the same adapter: finished
    assert res.exit_code == 0 and loads == []


@pytest.fixture(scope="module")
def foreign(tiny_llava_dir, tmp_path_factory) -> dict[str, Path]:
    """Adapters that do not fit the tiny LLaVA: built on a wider LLM, on a deeper one (both plain peft exports, with
    no harness_peft.json), for other weights."""
    root = tmp_path_factory.mktemp("foreign")
    wide = build_tiny_llava(root / "wide_model", TinySpec(text_width=64))
    deep = build_tiny_llava(root / "deep_model", TinySpec(text_layers=3))
    out = {"wide": save_lora_llm(wide, root / "wide"), "deep": save_lora_llm(deep, root / "deep")}
    for kind in ("wide", "deep"):
        (out[kind] / "harness_peft.json").unlink()
    out["weights"] = root / "weights"
    shutil.copytree(save_lora_llm(tiny_llava_dir, root / "fits"), out["weights"])
    record = json.loads((out["weights"] / "harness_peft.json").read_text())
    record["weights_sha256"] = {"model.safetensors": "0" * 64}
    (out["weights"] / "harness_peft.json").write_text(json.dumps(record))
    return out


KEY = "base_model.model.model.language_model.layers.0.mlp.down_proj.lora_B.weight"


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("wide", f"{KEY} has shape [64, 4], but this model's model.language_model.layers.0.mlp.down_proj "
                 "(Linear 96 -> 48) needs [48, 4]"),
        ("deep", "is for module model.language_model.layers.2."),
        ("weights", "made for other weights (harness_peft.json weights_sha256 model.safetensors: 000000000000..."),
    ],
)  # fmt: skip
def test_an_adapter_for_another_base_model_is_refused(tiny_llava_dir, foreign, mcq, tmp_path, kind, says):
    out = tmp_path / "out"
    res = runner.invoke(app, _eval(tiny_llava_dir, mcq, out, "--peft", str(foreign[kind])), env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and res.output.count("error:") == 1 and "Traceback" not in res.output
    assert says in " ".join(res.output.split()), res.output
    assert not out.exists()


def test_families_without_a_peft_merge_are_refused(lora):
    from harness.adapters.peft_merge import PeftAdapterError, check_peft_dir

    with pytest.raises(PeftAdapterError, match="already carries the release's own LoRA"):
        check_peft_dir(lora, "minigptv2")
    with pytest.raises(PeftAdapterError, match="--vlm clip has none"):
        check_peft_dir(lora, "clip")
    with pytest.raises(PeftAdapterError, match="an adapter for --vlm llava .harness_peft.json., not --vlm blip2"):
        check_peft_dir(lora, "blip2")
    assert check_peft_dir(lora, "llava")["peft_type"] == "LORA"


def test_peft_labels(lora, tmp_path):
    from harness.eval.encoder_meta import peft_label, peft_metadata

    assert peft_label(str(lora)) == "lora-llm-session-2"
    assert peft_metadata(lora)["sessions"] == 2
    (tmp_path / "my_run" / "peft").mkdir(parents=True)
    assert peft_label(str(tmp_path / "my_run" / "peft")) == "my_run-peft"
    assert peft_label(str(tmp_path / "my_run")) == "my_run" and peft_metadata(tmp_path / "my_run") == {}


def test_a_whole_vlm_adapter_in_a_grid_of_encoders(tiny_llava_dir, tiny_open_clip_ckpt, mcq, tmp_path):
    """LoRA-full changes the tower too: the tower is reset to the merged one between cells, so each cell of
    `--encoder ENC --encoder zero-shot --peft DIR` equals its standalone run."""
    every = r".*\.(q_proj|k_proj|v_proj|out_proj|o_proj|fc1|fc2|linear_1|linear_2|gate_proj|up_proj|down_proj)"
    full = save_lora_llm(tiny_llava_dir, tmp_path / "lora-full", seed=5, target_modules=every)
    peft = ["--peft", str(full)]
    res = runner.invoke(app, _eval(tiny_llava_dir, mcq, tmp_path / "grid", *peft, "--encoder",
                                   str(tiny_open_clip_ckpt), "--encoder", "zero-shot"))  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "grid" / "zero-shot" / "results.json").read_text())["peft"]
    assert report["tower_modules_merged"] == 3 * 6 and report["modules_merged"] == 3 * 6 + 2 + 2 * 7
    alone = runner.invoke(app, _eval(tiny_llava_dir, mcq, tmp_path / "alone", *peft))
    assert alone.exit_code == 0, alone.output
    assert _samples(tmp_path / "grid" / "zero-shot") == _samples(tmp_path / "alone")
    _assert_plain_forward(merged_reference(tiny_llava_dir, full), mcq, _samples(tmp_path / "alone"))
    swapped = merged_reference(tiny_llava_dir, full, tiny_open_clip_ckpt)
    _assert_plain_forward(swapped, mcq, _samples(tmp_path / "grid" / tiny_open_clip_ckpt.stem))

"""Fixtures for the lm-eval / lmms-eval bridges: a data root with VSR and Hateful Memes releases and the
harness's own run over it (the reference every bridge must equal)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.eval.runner import EvalConfig, run_eval
from tests.harness.tasks.fixtures import build_hm, build_vsr

LIMIT = 6
LMMS_EVAL = "lmms-eval==0.7.3"
LMMS_EVAL_DIR = Path.home() / ".cache" / "harness" / "test-lmms-eval-0.7.3"


def _provide_lmms_eval() -> None:
    """lmms-eval 0.7.3 without its declared dependencies (its wandb pins protobuf<7, which breaks
    transformers' sentencepiece conversion): pip installs it once into a cache folder from the registry, and
    this test session and its subprocesses import it from there."""
    if importlib.util.find_spec("lmms_eval") is None:
        if not (LMMS_EVAL_DIR / "lmms_eval").is_dir():
            with tempfile.TemporaryDirectory(prefix="harness-pip-") as tmp:
                pip = [*_pip(Path(tmp)), "install", "-q", "--no-deps", "--target", str(LMMS_EVAL_DIR), LMMS_EVAL]
                subprocess.run(pip, check=True)
        sys.path.append(str(LMMS_EVAL_DIR))
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(LMMS_EVAL_DIR)) if p)


def _pip(tmp: Path) -> list[str]:
    """This interpreter's pip, or where it has none (a uv venv) the pip of a throwaway venv made from it: `--target`
    writes plain files, whichever environment's pip writes them."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    env = tmp / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    return [str(env / "bin" / "python"), "-m", "pip"]


_provide_lmms_eval()


@pytest.fixture(scope="session")
def interop_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("interop_data")
    build_vsr(root / "vsr")
    build_hm(root / "hateful_memes")
    return root


@pytest.fixture(scope="session")
def harness_run(tiny_llava_dir, interop_root, tmp_path_factory):
    """`harness eval --tasks vsr,hm --limit 6` on the tiny LLaVA: samples by (task, id) and results."""
    out = tmp_path_factory.mktemp("harness_run") / "run"
    cfg = EvalConfig(
        tasks=["vsr", "hm"], model=str(tiny_llava_dir), device="cpu", data_root=str(interop_root), out=str(out)
    )
    cfg.limit = LIMIT
    run_eval(cfg, progress=False)
    samples = {}
    for line in (out / "samples.jsonl").read_text().splitlines():
        s = json.loads(line)
        samples[(s["task"], s["id"])] = s
    return samples, json.loads((out / "results.json").read_text())

"""The package as users install it: `python -m build` makes an sdist and a wheel that `twine check` accepts,
the wheel holds one top-level package (`harness`), and installed into a fresh virtual environment beside
AdapterHub's `adapters` it runs `harness --help` and `harness demo --quick`, and lmms-eval finds `--model harness`
through the wheel's entry point after the README's lmms-eval install line.

The environment sees the system site-packages (torch and the rest are not installed twice), but the harness,
AdapterHub's `adapters` and lmms-eval are installed into it from files, with --no-deps and --no-index: what
runs is the wheel, not this checkout. AdapterHub's and lmms-eval's wheels are downloaded once from the
registry into a cache folder, as the lmms-eval tests do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path.home() / ".cache" / "harness" / "test-wheels"
ADAPTERHUB = "adapters==1.3.0"
LMMS_EVAL = "lmms-eval==0.7.3"
SKIP_COPY = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


def _cached_wheel(requirement: str) -> Path:
    name = re.split(r"[=<>]", requirement)[0].replace("-", "_")
    found = sorted(WHEELS.glob(f"{name}-*.whl"))
    if not found:
        WHEELS.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--dest", str(WHEELS), requirement], WHEELS)
        found = sorted(WHEELS.glob(f"{name}-*.whl"))
    return found[-1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel built from a copy of the source tree (the build writes build/ and egg-info)."""
    work = tmp_path_factory.mktemp("build")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=SKIP_COPY)
    out = work / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)], work)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh environment with the wheel and AdapterHub's `adapters` installed into it."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)], env_dir.parent)
    # venv seeds an old setuptools of its own; without it the system's (which torch requires) shows through
    _run([str(env_dir / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], env_dir.parent, _env())
    _pip(env_dir, "--no-deps", str(next(dist.glob("*.whl"))), str(_cached_wheel(ADAPTERHUB)))
    return env_dir


def _pip(venv: Path, *args: str) -> str:
    return _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", *args], venv.parent, _env())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def _py(venv: Path, code: str) -> str:
    return _run([str(venv / "bin" / "python"), "-c", code], venv.parent, _env()).strip()


def test_build_makes_an_sdist_and_a_wheel_that_twine_accepts(dist):
    files = sorted(p.name for p in dist.iterdir())
    assert [f for f in files if f.endswith(".whl")] and [f for f in files if f.endswith(".tar.gz")], files
    assert "PASSED" in _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())], dist)


def test_the_wheel_holds_one_top_level_package_and_its_data(dist):
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as z:
        names = z.namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"harness"}, top
    info = next(n for n in names if n.endswith(".dist-info/METADATA")).split("/")[0]
    assert info.startswith("vlm_harness-"), info
    for data in ("harness/toy/models/llava/config.json", "harness/interop/lm_eval_tasks/harness_vsr.yaml"):
        assert data in names, data
    with tarfile.open(next(dist.glob("*.tar.gz"))) as t:  # the wheel above was built from this sdist
        assert any(n.endswith("harness/toy/models/llava/config.json") for n in t.getnames())


def test_import_adapters_is_adapterhubs_beside_the_harness(venv):
    """`adapters` resolves to AdapterHub's files in the environment, `tasks` to nothing of ours. (AdapterHub 1.3.0
    pins transformers~=4.57, so its own import fails beside the transformers 5 the harness needs; the
    name is what must not collide.)"""
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    out = _py(
        venv,
        "import importlib.util as u, importlib.metadata as m, harness.adapters, harness.tasks\n"
        "print(u.find_spec('adapters').origin)\n"
        "print([str(f) for f in m.files('adapters') if str(f) == 'adapters/__init__.py'])\n"
        "print(u.find_spec('tasks'))\n"
        "print(harness.adapters.__file__)",
    ).splitlines()
    assert out[0] == str(site / "adapters" / "__init__.py")
    assert out[1] == "['adapters/__init__.py']"  # the file belongs to AdapterHub's distribution
    assert out[2] == "None"
    assert out[3] == str(site / "harness" / "adapters" / "__init__.py")  # the wheel's, not this checkout's


def test_help_and_the_quick_demo_run_from_the_wheel(venv, tmp_path):
    harness = str(venv / "bin" / "harness")
    assert "Exit codes" in _run([harness, "--help"], tmp_path, _env())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _run([harness, "--version"], tmp_path, _env()).strip() == f"{project['name']} {project['version']}"
    out = _run([harness, "demo", "--quick", "--cache", str(tmp_path / "demo")], tmp_path, _env())
    assert "zero-shot" in out and "LoRSU" in out, out
    assert (tmp_path / "demo" / "tradeoff.png").is_file()


def test_lmms_eval_finds_the_model_after_the_readme_install_line(venv, dist):
    """The README's line: the `lmms-eval` extra, then lmms-eval itself without its dependencies (the extra's
    requirements are met by the system packages here, so --no-index resolves them)."""
    readme = (ROOT / "README.md").read_text()
    assert 'pip install "vlm-harness[lmms-eval]" && pip install --no-deps lmms-eval==0.7.3' in readme
    _pip(venv, f"{next(dist.glob('*.whl'))}[lmms-eval]")
    _pip(venv, "--no-deps", str(_cached_wheel(LMMS_EVAL)))
    out = _py(
        venv,
        "from lmms_eval.models.registry_v2 import ModelRegistryV2\n"
        "r = ModelRegistryV2(); r.load_entrypoint_manifests(overwrite=True)\n"
        "cls = r.get_model_class('harness'); import sys\n"
        "print(cls.__module__, sys.modules[cls.__module__].__file__)",
    )
    assert out.startswith("harness.interop.lmms_eval_model ") and str(venv) in out, out

"""The package as users install it: `python -m build` makes an sdist and a wheel that `twine check` accepts,
both carry the Apache-2.0 LICENSE, the wheel holds one top-level package (`harness`), and installed into a fresh
virtual environment beside AdapterHub's `adapters` it runs `harness --help` and `harness demo --quick`, and
lmms-eval finds `--model harness` through the wheel's entry point after the README's lmms-eval install line.

The environment sees exactly the packages of the interpreter running the tests (torch and the rest are not
installed twice): a plain venv whose `.pth` file lists that interpreter's own import path — its site-packages,
whether it is the system's, a venv's, a uv venv's or a conda environment's — without this checkout or its
editable-install hook. (`venv --system-site-packages` would show the *base* interpreter's packages, which, when the
tests run from a venv, are not the ones the project was installed into.) The harness, AdapterHub's `adapters` and
lmms-eval are installed into it from files, with --no-deps and --no-index: what runs is the wheel, not this
checkout. AdapterHub's and lmms-eval's wheels are downloaded once from the registry into a cache folder, as the
lmms-eval tests do, by the environment's own pip (a uv venv has none)."""

from __future__ import annotations

import hashlib
import json
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
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"  # apache.org's LICENSE-2.0.txt
SKIP_COPY = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout + res.stderr


def _cached_wheel(requirement: str, venv: Path) -> Path:
    name = re.split(r"[=<>]", requirement)[0].replace("-", "_")
    found = sorted(WHEELS.glob(f"{name}-*.whl"))
    if not found:
        WHEELS.mkdir(parents=True, exist_ok=True)
        pip = [str(_python(venv)), "-m", "pip", "download", "-q", "--no-deps", "--dest", str(WHEELS), requirement]
        _run(pip, WHEELS)
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
    """A fresh environment that sees the running interpreter's packages, with the wheel and AdapterHub's
    `adapters` installed into it."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", str(env_dir)], env_dir.parent)
    # venv seeds an old setuptools of its own on Python 3.11; without it the running interpreter's (which torch and
    # the build need) shows through
    _run([str(_python(env_dir)), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], env_dir.parent, _env())
    own = set(map(os.path.realpath, _import_path(_python(env_dir), env_dir.parent)))
    outer = [p for p in _import_path(Path(sys.executable), env_dir.parent) if os.path.realpath(p) not in own]
    outer = [p for p in outer if not Path(os.path.realpath(p)).is_relative_to(ROOT)]  # an editable install's path
    (_site(env_dir) / "_running_interpreter.pth").write_text("".join(f"{p}\n" for p in outer))
    _pip(env_dir, "--no-deps", str(next(dist.glob("*.whl"))), str(_cached_wheel(ADAPTERHUB, env_dir)))
    return env_dir


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _site(venv: Path) -> Path:
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


def _import_path(python: Path, cwd: Path) -> list[str]:
    """The directories on `python`'s import path as it starts (not this test session's, which pytest and the
    lmms-eval fixtures extend); .pth hooks such as an editable install's finder are not directories and drop out."""
    out = _run([str(python), "-c", "import json, sys; print(json.dumps(sys.path))"], cwd, _env())
    return [p for p in json.loads(out.strip()) if os.path.isabs(p) and os.path.isdir(p)]


def _pip(venv: Path, *args: str) -> str:
    return _run([str(_python(venv)), "-m", "pip", "install", "-q", "--no-index", *args], venv.parent, _env())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def _py(venv: Path, code: str) -> str:
    return _run([str(_python(venv)), "-c", code], venv.parent, _env()).strip()


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


def test_the_sdist_and_the_wheel_carry_the_apache_license(dist):
    """The LICENSE is the Apache License 2.0 verbatim (the text of apache.org/licenses/LICENSE-2.0.txt), and it
    travels with both distributions, declared in the wheel's metadata."""
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    lines = [line.strip() for line in text.decode().splitlines()]
    assert lines[1:3] == ["Apache License", "Version 2.0, January 2004"], lines[:3]
    assert "END OF TERMS AND CONDITIONS" in lines and "APPENDIX: How to apply the Apache License to your work." in lines
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as z:
        info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
        assert z.read(f"{info}/licenses/LICENSE") == text
        metadata = z.read(f"{info}/METADATA").decode().splitlines()
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata, metadata[:20]
    with tarfile.open(next(dist.glob("*.tar.gz"))) as t:
        (member,) = [m for m in t.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE")]
        assert t.extractfile(member).read() == text


def test_the_environment_sees_the_running_interpreters_packages_and_the_wheel(venv):
    """typer, torch and transformers come from where this interpreter imports them (from a venv too, whose base
    interpreter may have none of them); the `vlm-harness` distribution found first is the wheel's."""
    import importlib.util

    names = ("typer", "torch", "transformers")
    out = _py(
        venv,
        "import importlib.util as u, importlib.metadata as m\n"
        f"for name in {names!r}: print(u.find_spec(name).origin)\n"
        "print(m.distribution('vlm-harness').locate_file('harness/__init__.py'))",
    ).splitlines()
    assert out[:-1] == [importlib.util.find_spec(name).origin for name in names]
    assert out[-1] == str(_site(venv) / "harness" / "__init__.py")


def test_import_adapters_is_adapterhubs_beside_the_harness(venv):
    """`adapters` resolves to AdapterHub's files in the environment, `tasks` to nothing of ours. (AdapterHub 1.3.0
    pins transformers~=4.57, so its own import fails beside the transformers 5 the harness needs; the
    name is what must not collide.)"""
    site = _site(venv)
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
    requirements are met by the running interpreter's packages here, so --no-index resolves them)."""
    readme = (ROOT / "README.md").read_text()
    assert 'pip install "vlm-harness[lmms-eval]" && pip install --no-deps lmms-eval==0.7.3' in readme
    _pip(venv, f"{next(dist.glob('*.whl'))}[lmms-eval]")
    _pip(venv, "--no-deps", str(_cached_wheel(LMMS_EVAL, venv)))
    out = _py(
        venv,
        "from lmms_eval.models.registry_v2 import ModelRegistryV2\n"
        "r = ModelRegistryV2(); r.load_entrypoint_manifests(overwrite=True)\n"
        "cls = r.get_model_class('harness'); import sys\n"
        "print(cls.__module__, sys.modules[cls.__module__].__file__)",
    )
    assert out.startswith("harness.interop.lmms_eval_model ") and str(venv) in out, out

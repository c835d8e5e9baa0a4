"""Strict JSON for every record: NaN and ±inf (numpy's too) become null, numpy scalars plain numbers, and a
non-finite float that slips past `finite` fails the dump instead of writing a `NaN` token."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from harness.jsonio import dumps, finite, write_atomic


def strict_loads(text: str):
    """What jq or JavaScript accept: NaN, Infinity and -Infinity are refused."""

    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_floats_become_null_at_any_depth():
    obj = {"a": math.nan, "b": [1.5, math.inf, (-math.inf, 2)], "c": {"d": {"e": float("nan")}}, "f": None, "g": 0}
    assert finite(obj) == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": {"e": None}}, "f": None, "g": 0}
    assert strict_loads(dumps(obj)) == finite(obj)


def test_numpy_scalars_are_written_as_python_numbers():
    obj = {"f32": np.float32(0.5), "f64": np.float64(0.25), "nan32": np.float32("nan"), "inf64": np.float64("inf")}
    obj |= {"i": np.int64(3), "b": np.bool_(True), "zero_d": np.array(0.75), "nan_0d": np.array(np.nan)}
    got = finite(obj)
    assert got == {
        "f32": 0.5,
        "f64": 0.25,
        "nan32": None,
        "inf64": None,
        "i": 3,
        "b": True,
        "zero_d": 0.75,
        "nan_0d": None,
    }
    assert [type(got[k]) for k in ("f32", "f64", "i", "b")] == [float, float, int, bool]
    assert strict_loads(dumps(obj)) == got


def test_what_finite_does_not_reach_fails_loudly():
    with pytest.raises(ValueError, match="not JSON compliant"):
        dumps({math.nan: 1})  # a key: json writes float keys as NaN, allow_nan=False refuses


def test_keywords_pass_through_and_the_write_is_atomic(tmp_path):
    path = tmp_path / "r.json"
    write_atomic(path, {"é": math.nan, "p": tmp_path}, indent=2, ensure_ascii=False, default=str)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and '"é": null' in text and "\n  " in text
    assert strict_loads(text) == {"é": None, "p": str(tmp_path)}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_every_record_writer_writes_strict_json(tmp_path):
    """results.json, config.json, samples.jsonl (appended and merged), tune.json and session.json."""
    from harness.eval.records import RunDir, write_json_atomic
    from harness.tune.run import _write_json

    run = RunDir(tmp_path / "run")
    run.prepare({"seed": 0, "tolerance": math.inf})
    run.write_results({"tasks": {"pope": {"metrics": {"precision": {"value": math.nan, "stderr": None}}}}})
    run.append([{"task": "pope", "id": "a", "error": None, "logprobs": [-math.inf, np.float32(-1.5)]}], rank=0)
    run.merge([("pope", "a")])
    write_json_atomic(tmp_path / "baseline.json", {"value": np.float64("nan")})
    _write_json(tmp_path / "tune.json", {"epoch_losses": [math.nan, 1.0]})
    texts = [p.read_text() for p in (run.config_path, run.results_path, run.samples_path)]
    texts += [(tmp_path / name).read_text() for name in ("baseline.json", "tune.json")]
    got = [strict_loads(t) for t in texts]
    assert got[0] == {"seed": 0, "tolerance": None}
    assert got[1]["tasks"]["pope"]["metrics"]["precision"]["value"] is None
    assert got[2]["logprobs"] == [None, -1.5]
    assert got[3] == {"value": None} and got[4] == {"epoch_losses": [None, 1.0]}


def test_a_run_whose_fingerprint_holds_inf_still_resumes(tmp_path):
    from harness.eval.records import RunDir

    RunDir(tmp_path).prepare({"seed": 0, "tolerance": math.inf})
    RunDir(tmp_path).prepare({"seed": 0, "tolerance": math.inf})  # written as null, compared as written

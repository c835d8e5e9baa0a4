"""Run records: `samples.jsonl` (one line per item, appended and flushed as items finish) and
`results.json` (config, fingerprints, metrics), written atomically. Tables, compare and check read
only these files. Both are strict JSON (`harness.jsonio`): an undefined metric (NaN) is written as null.

Resume: re-running the same command on the same directory skips items already in samples.jsonl. A run
killed mid-write leaves at most one partial last line, which is cut off on reopen.

Data-parallel runs append per rank to `samples.rank-K.jsonl`; every file counts as done on resume (any world
size), and when the run finishes samples.jsonl is rewritten in item order, one record per item, the shards merged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import InputNotFound, InvalidInput
from harness.jsonio import dumps, finite, write_atomic
from harness.tasks.sources import read_json, read_jsonl

SCHEMA_VERSION = 1


class RunDirMismatch(InvalidInput):
    """The output directory holds a run with a different configuration."""


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.samples_path = self.path / "samples.jsonl"
        self.results_path = self.path / "results.json"
        self.config_path = self.path / "config.json"

    def prepare(self, fingerprint: dict[str, Any]) -> None:
        """Create the directory, or check that an existing run there has the same fingerprint."""
        self.check(fingerprint)
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            write_json_atomic(self.config_path, fingerprint)

    def check(self, fingerprint: dict[str, Any], partial: bool = False) -> None:
        """Refuse a run here whose fingerprint differs; `partial`: compare only the keys given (the ones
        known before the model loads)."""
        if not self.config_path.exists():
            return
        old, fingerprint = finite(read_json(self.config_path, "--out")), finite(fingerprint)  # as written: inf → null
        keys = set(fingerprint) if partial else set(old) | set(fingerprint)
        diff = sorted(k for k in keys if old.get(k) != fingerprint.get(k))
        if diff:
            details = "; ".join(f"{k}: {old.get(k)!r} -> {fingerprint.get(k)!r}" for k in diff[:5])
            raise RunDirMismatch(
                f"{self.path} holds a run with a different configuration ({details}). "
                f"Use another --out, or --overwrite to start over."
            )

    def clear(self) -> None:
        for p in (self.samples_path, self.results_path, self.config_path, *self.shard_paths()):
            p.unlink(missing_ok=True)

    def shard_path(self, rank: int) -> Path:
        return self.path / f"samples.rank-{rank}.jsonl"

    def shard_paths(self) -> list[Path]:
        return sorted(self.path.glob("samples.rank-*.jsonl"))

    def done(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Samples already recorded (samples.jsonl, then the rank shards), keyed by (task, id) in the order first
        recorded; the last record of an item wins, except that a scored record is never replaced by an errored
        one (errored items are retried on resume). Torn last lines (a kill mid-write) are cut off first."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for path in [self.samples_path, *self.shard_paths()]:
            if not path.exists():
                continue
            _cut_torn_tail(path)
            for _, s in read_jsonl(path, ValueError):
                key = (s["task"], s["id"])
                if s["error"] is None or key not in out or out[key]["error"] is not None:
                    out[key] = s
        return out

    def merge(self, order: list[tuple[str, str]]) -> None:
        """Rewrite samples.jsonl as one record per item, the winning one, in `order` (items outside it after
        them, as first recorded), whatever mix of samples.jsonl and rank shards an interrupted run left;
        atomically, then delete the shards. A file already in that form is left untouched."""
        records = self.done()
        rank = {k: i for i, k in enumerate(order)}
        keys = sorted(records, key=lambda k: rank.get(k, len(rank)))
        text = "".join(dumps(records[k], ensure_ascii=False) + "\n" for k in keys).encode()
        if not self.samples_path.exists() or self.samples_path.read_bytes() != text:
            tmp = self.samples_path.with_name(f".samples.jsonl.{os.getpid()}.tmp")
            tmp.write_bytes(text)
            os.replace(tmp, self.samples_path)
        for p in self.shard_paths():
            p.unlink()

    def append(self, samples: Iterable[dict[str, Any]], rank: int | None = None) -> None:
        """Append and flush; `rank`: to that rank's shard instead of samples.jsonl."""
        with open(self.samples_path if rank is None else self.shard_path(rank), "a", encoding="utf-8") as f:
            for s in samples:
                f.write(dumps(s, ensure_ascii=False) + "\n")
            f.flush()

    def write_results(self, results: dict[str, Any]) -> None:
        write_json_atomic(self.results_path, {"schema_version": SCHEMA_VERSION, **results})


def _cut_torn_tail(path: Path) -> None:
    """Drop a partial last line (a write cut short by a kill)."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)


def write_json_atomic(path: Path, obj: Any) -> None:
    """config.json, results.json, baselines: strict JSON (an undefined metric is null; `harness.jsonio`)."""
    write_atomic(path, obj, indent=2, ensure_ascii=False, default=str)


def read_results(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "results.json"
    if not path.exists():
        raise InputNotFound(f"no results.json in {run_dir} (is it a harness run directory?)")
    results = read_json(path)
    if not isinstance(results.get("tasks", {}), dict):
        raise InvalidInput(f"{path}: 'tasks' must be an object, got {type(results['tasks']).__name__}")
    return results


def read_samples(run_dir: Path, task: str | None = None) -> list[dict[str, Any]]:
    samples = RunDir(Path(run_dir)).done().values()
    return [s for s in samples if task is None or s["task"] == task]

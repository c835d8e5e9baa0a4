"""Regression gate: `harness check RUN_DIR --baseline FILE` compares a run with a committed baseline.

Baseline file (JSON, written by `harness check RUN_DIR --baseline FILE --update`):

    {
      "format": "harness-baseline", "format_version": 1, "written": "2025-01-01T12:00:00+0000",
      "source": {"run_id": "...", "label": "...", "run_dir": "..."},
      "fingerprint": {"vlm": "llava", "model": "...", "weights_sha256": "...", "encoder_sha256": null,
                      "prompt_template": "...", "prompt_style": "options", "limit": null, "seed": 0,
                      "mode": "likelihood"},
      "tasks": {
        "<task>": {
          "version": "1.p1",              # task version: data version + prompt version
          "prompt_version": "1",          # from the task's describe(), when it has one
          "n": 120, "n_errors": 0,        # items scored / items that could not be scored
          "item_set_sha256": "...",       # ids, choices and answers, as the run records it
          "prompts_sha256": "...",        # sha256 of the sorted (id, prompt text) pairs; null without samples
          "metrics": {"acc": {"value": 0.25, "stderr": 0.04},
                      "auroc": {"value": 0.61, "stderr": null, "n_pos": 40, "n_neg": 80}}
        }
      }
    }

The check fails (exit 1) when, for a task in the baseline: the run lacks it; its version, item set,
prompts or number of scored items changed; or a metric is missing or dropped below the baseline by more
than the tolerance. Changes of the model/encoder fingerprint are reported but do not fail by themselves.
A run or baseline that cannot be read (missing, truncated, not this schema) is "could not check": exit 2.

Tolerance (default): the one-sided bound at `confidence` (95%: z = 1.645) for the difference between two
independent runs of the same size, z · √2 · SE. SE is √(p(1−p)/n) for metrics that are means of per-item
scores in [0, 1] (exact for accuracy, conservative for VQA accuracy, whose per-item variance is at most
p(1−p); at p = 0 or 1 the bound is 0, so any drop fails), and the Hanley–McNeil standard error for AUROC
(from the baseline's class counts); for a lower-is-better difference (CounterAnimal's drop) a rise is the
regression, bounded by its own recorded SE. A fixed `--tolerance` in percentage points replaces it.
Improvements beyond the tolerance pass with a hint to update the baseline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from harness.errors import InputNotFound, InvalidInput
from harness.eval.records import write_json_atomic
from harness.report.baseline_schema import check_baseline_schema
from harness.report.comparable import prompts_sha256
from harness.report.runs import Run, display_scale, metric_title
from harness.tasks.sources import read_json

FORMAT = "harness-baseline"
FORMAT_VERSION = 1
LOWER_IS_BETTER = frozenset({"drop"})  # CounterAnimal's common − counter accuracy
_FINGERPRINT_KEYS = (
    "vlm",
    "model",
    "weights_sha256",
    "encoder_sha256",
    "prompt_template",
    "prompt_style",
    "limit",
    "seed",
    "mode",
)


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUROC (Hanley & McNeil, 1982)."""
    if n_pos < 1 or n_neg < 1:
        return math.nan
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def statistical_tolerance(
    metric: str, value: float, n: int, confidence: float = 0.95, n_pos: int | None = None, n_neg: int | None = None
) -> float:
    """Allowed drop (same units as the metric) for a re-run: z · √2 · SE at one-sided `confidence`."""
    z = NormalDist().inv_cdf(confidence)
    if metric == "auroc":
        pos = n_pos if n_pos is not None else n // 2
        se = hanley_mcneil_se(value, pos, n_neg if n_neg is not None else n - pos)
    else:
        se = math.sqrt(max(value * (1 - value), 0.0) / n) if n > 0 else math.nan
    return z * math.sqrt(2) * se


def _fingerprint(run: Run) -> dict[str, Any]:
    r = run.results
    model, enc = r.get("model") or {}, r.get("encoder") or {}
    return {
        "vlm": run.vlm,
        "model": model.get("model"),
        "weights_sha256": model.get("weights_sha256"),
        "encoder_sha256": enc.get("sha256"),
        "prompt_template": model.get("prompt_template"),
        "prompt_style": run.config("prompt_style"),
        "limit": run.config("limit"),
        "seed": run.config("seed"),
        "mode": run.config("mode") or "likelihood",
    }


def make_baseline(run: Run) -> dict[str, Any]:
    """The baseline content for `run` (see the module docstring)."""
    tasks = {}
    for task, rec in run.tasks.items():
        metrics = {}
        for m in rec.get("metrics", {}):
            entry: dict[str, Any] = {"value": run.metric(task, m), "stderr": run.stderr(task, m)}
            if m == "auroc":
                labels = [
                    s["meta"]["label"]
                    for s in run.samples(task)
                    if s.get("error") is None and (s.get("meta") or {}).get("label") is not None
                ]
                entry.update(
                    n_pos=sum(1 for y in labels if y == 1) if labels else None,
                    n_neg=sum(1 for y in labels if y == 0) if labels else None,
                )
            metrics[m] = entry
        tasks[task] = {
            "version": rec.get("version"),
            "prompt_version": (rec.get("describe") or {}).get("prompt_version"),
            "n": rec.get("n"),
            "n_errors": rec.get("n_errors"),
            "item_set_sha256": rec.get("item_set_sha256"),
            "prompts_sha256": prompts_sha256(run, task),
            "metrics": metrics,
        }
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "source": {"run_id": run.run_id, "label": run.label, "run_dir": str(run.path)},
        "fingerprint": _fingerprint(run),
        "tasks": tasks,
    }


def write_baseline(run: Run, path: Path) -> dict[str, Any]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    baseline = make_baseline(run)
    write_json_atomic(path, baseline)
    return baseline


def read_baseline(path: Path) -> dict[str, Any]:
    """The baseline file, checked against the schema above; errors name `--baseline FILE` and the field."""
    path = Path(path)
    if not path.exists():
        raise InputNotFound(f"--baseline {path} does not exist; write one deliberately with --update")
    data = read_json(path, "--baseline")
    where = f"--baseline {path}"
    if data.get("format") != FORMAT:
        raise InvalidInput(f'{where} is not a harness baseline file (no "format": "{FORMAT}")')
    if data.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            f"{where}: baseline format_version {data.get('format_version')} is not supported "
            f"(this harness reads {FORMAT_VERSION})"
        )
    check_baseline_schema(data, where)
    return data


@dataclass
class Finding:
    task: str
    what: str
    status: str  # "ok" | "FAIL" | "improved" | "warn" | "info"
    message: str


@dataclass
class GateReport:
    run: str
    baseline: str
    rule: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "FAIL"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def text(self) -> str:
        lines = [f"harness check {self.run}", f"  baseline: {self.baseline}", f"  tolerance: {self.rule}", ""]
        w_task = max([len(f.task) for f in self.findings] + [4])
        w_what = max([len(f.what) for f in self.findings] + [4])
        lines += [f"  {f.status:<8} {f.task:<{w_task}}  {f.what:<{w_what}}  {f.message}" for f in self.findings]
        n = len(self.failures)
        lines.append("")
        if self.passed:
            lines.append("PASS")
        else:
            lines.append(
                f"FAIL: {n} problem{'s' * (n != 1)} ("
                + ", ".join(f"{f.task} {f.what}" for f in self.failures)
                + "). If the change is "
                "deliberate, write a new baseline with --update and commit it."
            )
        return "\n".join(lines)


def _same(task: str, what: str, old: Any, new: Any, message: str) -> Finding:
    if old == new:
        return Finding(task, what, "ok", "unchanged" if old is None else f"unchanged ({str(old)[:12]})")
    return Finding(task, what, "FAIL", f"{message}: baseline {str(old)[:12]} → now {str(new)[:12]}")


def check_run(
    run: Run,
    baseline: dict[str, Any],
    baseline_name: str = "baseline",
    tolerance_pp: float | None = None,
    confidence: float = 0.95,
) -> GateReport:
    """Compare `run` with `baseline`; the report's `passed` is the gate's verdict."""
    rule = (
        f"fixed, {tolerance_pp:g} points"
        if tolerance_pp is not None
        else f"one-sided {confidence:.0%} bound for a re-run, z·√2·SE (z = {NormalDist().inv_cdf(confidence):.3f})"
    )
    report = GateReport(str(run.path), baseline_name, rule)
    add = report.findings.append
    fp_old, fp_new = baseline.get("fingerprint", {}), _fingerprint(run)
    for k in _FINGERPRINT_KEYS:
        if k == "model" and fp_old.get("weights_sha256") == fp_new.get("weights_sha256"):
            continue  # the same weights under another path or hub id
        if k in fp_old and fp_old[k] != fp_new.get(k):
            add(Finding("*", k, "warn", f"baseline {str(fp_old[k])[:24]} → now {str(fp_new.get(k))[:24]}"))
    for task, base in baseline.get("tasks", {}).items():
        rec = run.tasks.get(task)
        if rec is None:
            add(Finding(task, "task", "FAIL", "not in the run"))
            continue
        add(_same(task, "version", base.get("version"), rec.get("version"), "task (data/prompt) version changed"))
        add(
            _same(
                task,
                "item set",
                base.get("item_set_sha256"),
                rec.get("item_set_sha256"),
                "the items changed (ids, choices, answers, limit or split)",
            )
        )
        prompts = prompts_sha256(run, task)
        if base.get("prompts_sha256") and prompts:
            add(_same(task, "prompts", base["prompts_sha256"], prompts, "the prompt texts changed"))
        if (base.get("n"), base.get("n_errors")) != (rec.get("n"), rec.get("n_errors")):
            add(
                Finding(
                    task,
                    "n",
                    "FAIL",
                    f"items scored/errors: baseline {base.get('n')}/{base.get('n_errors')} → "
                    f"now {rec.get('n')}/{rec.get('n_errors')}",
                )
            )
        for metric, entry in base.get("metrics", {}).items():
            add(_check_metric(run, task, metric, entry, int(base.get("n") or 0), tolerance_pp, confidence))
    for task in run.tasks:
        if task not in baseline.get("tasks", {}):
            add(Finding(task, "task", "info", "not in the baseline: not gated"))
    return report


def _check_metric(
    run: Run, task: str, metric: str, entry: dict[str, Any], n: int, tolerance_pp: float | None, confidence: float
) -> Finding:
    what, old, new = metric_title(metric), entry.get("value"), run.metric(task, metric)
    k = display_scale(metric)  # --tolerance is in the metric's displayed points
    if old is None:
        return Finding(task, what, "ok" if new is None else "info", "undefined in the baseline: not gated")
    if new is None:
        return Finding(task, what, "FAIL", f"missing or undefined now (baseline {k * old:.1f})")
    tol = (
        tolerance_pp / k
        if tolerance_pp is not None
        else statistical_tolerance(metric, old, n, confidence, entry.get("n_pos"), entry.get("n_neg"))
    )
    if metric in LOWER_IS_BETTER and tolerance_pp is None:  # a difference of two accuracies: its own recorded SE
        tol = NormalDist().inv_cdf(confidence) * math.sqrt(2) * (entry.get("stderr") or 0.0)
    if math.isnan(tol):
        tol = 0.0
    diff = (old - new) if metric in LOWER_IS_BETTER else (new - old)
    msg = f"{k * old:.1f} → {k * new:.1f} (Δ {k * diff:+.1f}, allowed drop {k * tol:.1f})"
    if -diff > tol + 1e-12:
        return Finding(task, what, "FAIL", msg)
    if diff > tol + 1e-12:
        return Finding(task, what, "improved", msg + "; consider --update")
    return Finding(task, what, "ok", msg)

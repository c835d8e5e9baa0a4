"""Two run records paired item by item (`compare_runs`, `compare_metric`): per-item scores are rebuilt from
samples.jsonl exactly as the tasks compute their metrics, then compared with `harness.report.stats`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.report.stats import (
    DEFAULT_N_BOOT,
    DiffCI,
    McNemar,
    mcnemar_exact,
    paired_bootstrap_auroc,
    paired_bootstrap_diff,
)

if TYPE_CHECKING:
    from harness.report.runs import Run


@dataclass(frozen=True)
class MetricComparison:
    """One task metric of runs A and B: recorded values, paired difference (B - A) and tests."""

    task: str
    metric: str
    a: float | None
    b: float | None
    n_paired: int
    diff: DiffCI | None = None
    mcnemar: McNemar | None = None
    note: str = ""

    @property
    def p_value(self) -> float | None:
        return self.mcnemar.p_value if self.mcnemar else None

    @property
    def significant(self) -> bool | None:
        """McNemar p < 0.05 for 0/1 metrics, else the bootstrap interval excludes 0; None if untested."""
        if self.mcnemar is not None:
            return self.mcnemar.p_value < 0.05
        return self.diff.excludes_zero if self.diff is not None and not math.isnan(self.diff.low) else None


def _ok(s: dict[str, Any]) -> bool:
    return s.get("error") is None


def item_scores(samples: list[dict[str, Any]], metric: str) -> dict[str, float] | None:
    """Per-item scores whose mean is `metric`, keyed by item id; None when the metric is not a per-item
    mean the samples can reproduce (AUROC, or an unknown metric the samples do not carry)."""
    if metric in ("acc", "acc_norm"):
        key = "pred" if metric == "acc" else "pred_norm"
        return {
            str(s["id"]): float(s[key] == s["answer"])
            for s in samples
            if _ok(s) and s.get("answer", -1) >= 0 and key in s
        }
    if metric in ("vqa_acc", "vqa_acc_norm"):
        from harness.tasks.vqa_accuracy import vqa_accuracy

        key = "pred" if metric == "vqa_acc" else "pred_norm"
        out = {}
        for s in samples:
            meta = s.get("meta") or {}
            if not _ok(s) or not meta.get("answers"):
                continue
            if "generation" in s:
                text = s["generation"] or ""
            else:
                choices, idx = meta.get("choices") or [], s.get(key, -1)
                text = choices[idx] if 0 <= idx < len(choices) else ""
            out[str(s["id"])] = vqa_accuracy(text, meta["answers"])
        return out
    carried = [s for s in samples if _ok(s) and isinstance(s.get(metric), (bool, int, float))]
    return {str(s["id"]): float(s[metric]) for s in carried} if carried else None


def auroc_inputs(samples: list[dict[str, Any]]) -> dict[str, tuple[int, float]]:
    """(label, P(yes)) per item id for yes/no AUROC (Hateful Memes: options yes first)."""
    from harness.tasks.hateful_memes import p_yes

    return {
        str(s["id"]): (int(s["meta"]["label"]), p_yes(s["logprobs"]))
        for s in samples
        if _ok(s) and (s.get("meta") or {}).get("label") is not None and s.get("logprobs")
    }


def compare_metric(
    run_a: Run, run_b: Run, task: str, metric: str, n_boot: int = DEFAULT_N_BOOT, seed: int = 0, level: float = 0.95
) -> MetricComparison:
    """Paired comparison of one task metric on the items both runs scored."""
    a, b = run_a.metric(task, metric), run_b.metric(task, metric)
    sa, sb = run_a.samples(task), run_b.samples(task)
    if not sa or not sb:
        return MetricComparison(task, metric, a, b, 0, note="no samples.jsonl: no paired statistics")
    if metric == "auroc":
        da, db = auroc_inputs(sa), auroc_inputs(sb)
        ids = sorted(set(da) & set(db))
        if any(da[i][0] != db[i][0] for i in ids):
            return MetricComparison(task, metric, a, b, len(ids), note="labels differ between the runs")
        ci = paired_bootstrap_auroc(
            [da[i][0] for i in ids],
            [da[i][1] for i in ids],
            [db[i][1] for i in ids],
            n_boot=min(n_boot, 2_000),
            seed=seed,
            level=level,
        )
        return MetricComparison(task, metric, a, b, len(ids), ci)
    xa, xb = item_scores(sa, metric), item_scores(sb, metric)
    if xa is None or xb is None:
        return MetricComparison(task, metric, a, b, 0, note=f"{metric} is not a per-item score in the samples")
    ids = sorted(set(xa) & set(xb))
    va, vb = [xa[i] for i in ids], [xb[i] for i in ids]
    ci = paired_bootstrap_diff(va, vb, n_boot=n_boot, seed=seed, level=level)
    binary = not metric.startswith("vqa_acc") and set(va) | set(vb) <= {0.0, 1.0}
    test = mcnemar_exact([x == 1.0 for x in va], [x == 1.0 for x in vb]) if binary and ids else None
    note = "" if len(ids) == len(xa) == len(xb) else f"paired on the {len(ids)} items both runs scored"
    return MetricComparison(task, metric, a, b, len(ids), ci, test, note)


def compare_runs(
    run_a: Run, run_b: Run, metrics: str = "primary", n_boot: int = DEFAULT_N_BOOT, seed: int = 0, level: float = 0.95
) -> list[MetricComparison]:
    """Every shared task (table order), with its primary metrics or, with metrics="all", every metric."""
    from harness.report.runs import primary_metrics, task_sort_key

    out = []
    for task in sorted(set(run_a.tasks) & set(run_b.tasks), key=task_sort_key):
        if metrics == "all":
            names = [m for m in run_a.tasks[task].get("metrics", {}) if m in run_b.tasks[task].get("metrics", {})]
        else:
            names = list(primary_metrics(task, [run_a, run_b]))
        out += [compare_metric(run_a, run_b, task, m, n_boot, seed, level) for m in names]
    return out

"""The continual-learning metrics as the field reports them, from a sequence's accuracy matrix, with paired
bootstrap intervals over items.

R[i][j]: the metric on session j's test column after session i (i = 0 is the zero-shot model), T sessions.
- ACC = (1/T) Σ_j R[T][j]                                    average accuracy (Lopez-Paz & Ranzato 2017, GEM)
- BWT = (1/(T−1)) Σ_{j<T} (R[T][j] − R[j][j])                backward transfer (GEM)
- FWT = (1/(T−1)) Σ_{j≥2} (R[j−1][j] − R[0][j])              forward transfer (GEM, with the zero-shot model as
                                                              the reference b_j instead of a random init)
- F   = (1/(T−1)) Σ_{j<T} (max_{1≤l<T} R[l][j] − R[T][j])     forgetting (Chaudhry et al. 2018, RWalk; the
                                                              zero-shot row does not enter the max)
- MFT = (1/T) Σ_j R[j][j]; MFN = (1/T) Σ_j R[T][j]; MAA = (1/T) Σ_k (1/k) Σ_{j≤k} R[k][j]   mean fine-tuned,
  mean final and mean average accuracy, as MCITlib reports them (Guo et al. 2025, arXiv:2508.07307)
- TI  = target(after session T) − target(zero-shot)          target improvement (Panos et al. 2025, LoRSU)
- CC  = (1/|C|) Σ_c (c(after session T) − c(zero-shot))       control change over the control tasks C (LoRSU);
                                                              C holds the controls in %, not those in points (MME)
Intervals: items are resampled with replacement per task, the same draw for every row and for every column cut
from that task (so the pairing across sessions is kept), and each metric's 2.5/97.5 percentiles are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.report.continual import Column, Sequence
from harness.report.runs import display_scale
from harness.report.stats import resample_counts

METRICS = ("ACC", "BWT", "FWT", "F", "MFT", "MFN", "MAA", "TI", "CC")
MATRIX_METRICS = METRICS[:7]


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None = None
    high: float | None = None


def matrix_metrics(r: np.ndarray) -> dict[str, float]:
    """ACC … MAA of one matrix R [T+1, T] (row 0 zero-shot); the T−1 averages are NaN for T = 1."""
    t = r.shape[1]
    final, diag = r[t], np.array([r[j + 1, j] for j in range(t)])
    out = {"ACC": final.mean(), "MFT": diag.mean(), "MFN": final.mean()}
    out["MAA"] = np.mean([r[k, :k].mean() for k in range(1, t + 1)])
    if t >= 2:
        out["BWT"] = np.mean([r[t, j] - r[j + 1, j] for j in range(t - 1)])
        out["FWT"] = np.mean([r[j, j] - r[0, j] for j in range(1, t)])
        out["F"] = np.mean([r[1:t, j].max() - r[t, j] for j in range(t - 1)])
    else:
        out.update(BWT=np.nan, FWT=np.nan, F=np.nan)
    return {k: float(out[k]) for k in MATRIX_METRICS}


def sequence_metrics(
    seq: Sequence, n_boot: int = 1_000, seed: int = 0, level: float = 0.95
) -> tuple[dict[str, Estimate], np.ndarray | None]:
    """Every metric with its interval, and the session matrix R (None without per-session columns)."""
    point = _metrics(seq, {})
    sizes = {c.task: len(c.ids) for c in seq.tasks + seq.sessions if c.kind != "recorded"}
    draws = (
        {t: resample_counts(n, n_boot, seed + i) for i, (t, n) in enumerate(sorted(sizes.items()))} if n_boot else {}
    )
    reps = _metrics(seq, draws, vectorised=True) if draws else {}
    alpha = (1 - level) / 2
    out = {}
    for k in METRICS:
        v = point.get(k)
        if v is None or np.isnan(v):
            out[k] = Estimate(None)
            continue
        rep = np.asarray(reps.get(k, []), dtype=float)
        rep = rep[~np.isnan(rep)]
        lo, hi = np.quantile(rep, [alpha, 1 - alpha]) if rep.size else (None, None)
        out[k] = Estimate(v, None if lo is None else float(lo), None if hi is None else float(hi))
    matrix = np.stack([c.values() for c in seq.sessions], axis=1) if seq.sessions else None
    return out, matrix


def _metrics(seq: Sequence, draws: dict[str, np.ndarray], vectorised: bool = False) -> dict:
    """The metrics at the observed items (draws {}), or per replicate ([n_boot] arrays) for the drawn weights."""

    reps = len(next(iter(draws.values()))) if draws else 0

    def vals(col: Column) -> np.ndarray:  # [rows] or [replicates, rows]
        # a recorded column (CounterAnimal's group accuracies, MME's points) has no items to resample: the same
        # values in every replicate
        return col.values(draws.get(col.task, np.ones((reps, 0)))) if draws else col.values()

    out: dict = {}
    if seq.sessions:
        cols = [vals(c) for c in seq.sessions]
        if vectorised:
            mats = np.stack(cols, axis=-1)  # [replicates, rows, T]
            per = [matrix_metrics(m) for m in mats]
            out.update({k: [p[k] for p in per] for k in MATRIX_METRICS})
        else:
            out.update(matrix_metrics(np.stack(cols, axis=1)))
    by_task = {c.task: vals(c) for c in seq.tasks}
    if seq.target in by_task:
        v = by_task[seq.target]
        out["TI"] = v[..., -1] - v[..., 0]
    # a mean over controls needs one unit: controls kept in official points (MME) are left out of CC
    in_points = {c.task for c in seq.tasks if display_scale(c.metric) == 1}
    ctl = [by_task[c] for c in seq.controls if c in by_task and c not in in_points]
    if ctl:
        out["CC"] = np.mean([v[..., -1] - v[..., 0] for v in ctl], axis=0)
    return {k: (list(np.atleast_1d(v)) if vectorised else float(v)) for k, v in out.items()}

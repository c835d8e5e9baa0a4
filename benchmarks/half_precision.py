"""Half-precision agreement on the whole toy world (400 + 400 items): the bound of
tests/harness/eval/test_engine_half.py, which checks a subset, applied to every item.

Per dtype: the plain half forward's and the engine's error against the fp32 plain forward (max, mean),
the largest |engine - plain| and its ratio to the derived tolerance E + n * u * max|logit|, pick flips
between engine and plain forward, and how many of those lie outside the tolerance (should be 0).

    python benchmarks/half_precision.py [--items 400]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.adapters.llava import LlavaAdapter
from harness.eval.engine import Engine, plain_forward_scores
from harness.tasks.metrics import argmax_first
from harness.toy.build import MODELS_DIR
from tests.harness.eval.test_engine_half import UNIT_ROUNDOFF, max_abs_logit, toy_requests


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=400, help="per task")
    args = ap.parse_args()
    a32 = LlavaAdapter.load(str(MODELS_DIR / "llava"), dtype="float32", device="cpu")
    reqs = toy_requests(a32, args.items)
    ref = [plain_forward_scores(a32, r) for r in reqs]
    print(f"items={len(reqs)} options={sum(len(r.continuations) for r in reqs)}")
    for dtype in ("bfloat16", "float16"):
        adapter = LlavaAdapter.load(str(MODELS_DIR / "llava"), dtype=dtype, device="cpu")
        plain = [plain_forward_scores(adapter, r) for r in reqs]
        scored = Engine(adapter, batch_size=16).score(reqs)
        got = [[s.logprob for s in ss] for ss in scored]
        ep = [abs(p - f) for ps, fs in zip(plain, ref) for p, f in zip(ps, fs)]
        ee = [abs(g - f) for gs, fs in zip(got, ref) for g, f in zip(gs, fs)]
        e_max, per_token = max(ep), UNIT_ROUNDOFF[dtype] * max_abs_logit(adapter, reqs)
        tols = [[e_max + s.n_tokens * per_token for s in ss] for ss in scored]
        worst = max(abs(g - p) / t for gs, ps, ts in zip(got, plain, tols) for g, p, t in zip(gs, ps, ts))
        flips = outside = 0
        for gs, ps, ts in zip(got, plain, tols):
            ie, ip = argmax_first(gs), argmax_first(ps)
            if ie != ip:
                flips += 1
                outside += ps[ip] - ps[ie] > max(ts[ip], ts[ie])
        print(
            f"{dtype}: plain-vs-fp32 max {e_max:.4g} mean {sum(ep) / len(ep):.4g} | engine-vs-fp32 max "
            f"{max(ee):.4g} mean {sum(ee) / len(ee):.4g} | max |engine-plain|/tol {worst:.3f} "
            f"(E={e_max:.4g}, u*max|logit|={per_token:.4g}) | pick flips {flips}, outside tolerance {outside}"
        )


if __name__ == "__main__":
    main()

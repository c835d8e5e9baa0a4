"""`python -m harness.interop.lm_eval [run] --model harness-vlm --model_args ... --tasks harness_vsr ...`

lm-eval's own CLI with the `harness-vlm` model registered (lm-eval 0.4.13 loads no model plugins by itself)
and our task folder added to `--include_path` (a user's `--include_path` is kept as well). Exit codes are
`harness`'s: a user error (a bad model_arg, a response cache written by another model, a missing file) prints
one line and exits 2; lm-eval's own argument errors keep its exit code (2).
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.errors import UserError, one_line

TASK_DIR = Path(__file__).with_name("lm_eval_tasks")


def main(argv: list[str] | None = None) -> None:
    from lm_eval._cli import HarnessCLI
    from lm_eval.utils import setup_logging

    import harness.interop.lm_eval_model  # noqa: F401  (registers harness-vlm)

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    setup_logging()
    parser = HarnessCLI()
    args = parser.parse_args()
    if hasattr(args, "include_path"):
        args.include_path = [str(TASK_DIR)] + ([args.include_path] if args.include_path else [])
    try:
        parser.execute(args)
    except UserError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        raise SystemExit(e.exit_code) from None


if __name__ == "__main__":
    main()

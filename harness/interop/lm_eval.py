"""`python -m harness.interop.lm_eval [run] --model harness-vlm --model_args ... --tasks harness_vsr ...`

lm-eval's own CLI with the `harness-vlm` model registered (lm-eval 0.4.13 loads no model plugins by itself)
and our task folder added to `--include_path` (a user's `--include_path` is kept as well).
"""

from __future__ import annotations

import sys
from pathlib import Path

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
    parser.execute(args)


if __name__ == "__main__":
    main()

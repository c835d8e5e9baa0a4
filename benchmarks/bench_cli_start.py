"""How fast `harness eval` refuses bad input, against `import torch` measured in the same run.

Each command runs in a fresh process, as a user types it: `harness --help` (the CLI's floor), and `harness eval`
with a missing `--encoder`, an encoder of no known layout (safetensors and torch.save), a bad `--batch-size` and
a bad `--device`. The baseline is `python -c "import torch"`, which every one of them used to pay before its
check ran. Prints the median wall time of each over the repeats and its ratio to the baseline.

    python benchmarks/bench_cli_start.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = [sys.executable, "-m", "harness.cli"]  # this checkout's harness (run from ROOT)


def bad_encoders(tmp: Path) -> dict[str, Path]:
    import torch
    from safetensors.torch import save_file

    save_file({"some.weight": torch.zeros(2)}, tmp / "odd.safetensors")
    torch.save({"epoch": 1, "state_dict": {"fc.weight": torch.zeros(2)}}, tmp / "odd.pt")
    return {"missing": tmp / "nope.pt", "odd.safetensors": tmp / "odd.safetensors", "odd.pt": tmp / "odd.pt"}


def commands(tmp: Path) -> dict[str, tuple[list[str], int]]:
    """name -> (argv, expected exit code)."""
    enc = bad_encoders(tmp)
    ev = [*HARNESS, "eval", "--tasks", "toy_control"]
    return {
        "baseline: python -c 'import torch'": ([sys.executable, "-c", "import torch"], 0),
        "harness --help": ([*HARNESS, "--help"], 0),
        "eval --encoder missing": ([*ev, "--encoder", str(enc["missing"])], 2),
        "eval --encoder unknown (safetensors)": ([*ev, "--encoder", str(enc["odd.safetensors"])], 2),
        "eval --encoder unknown (torch.save)": ([*ev, "--encoder", str(enc["odd.pt"])], 2),
        "eval --batch-size lots": ([*ev, "--batch-size", "lots"], 2),
        "eval --device nosuchdevice": ([*ev, "--device", "nosuchdevice"], 2),
    }


def wall(argv: list[str], code: int) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != code:
        raise SystemExit(f"{' '.join(argv)} exited {res.returncode}, expected {code}:\n{res.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cmds = commands(Path(d))
        for argv, code in cmds.values():  # warm the page cache and bytecode once
            wall(argv, code)
        times = {name: statistics.median(wall(*cmds[name]) for _ in range(args.repeats)) for name in cmds}
    base = times["baseline: python -c 'import torch'"]
    print(f"{'command':<40} {'median s':>9} {'vs import torch':>16}")
    for name, t in times.items():
        print(f"{name:<40} {t:>9.2f} {t / base:>15.2f}x")


if __name__ == "__main__":
    main()

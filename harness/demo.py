"""`harness demo`: the whole flow offline on the embedded default.

Builds (once, in a cache folder) a tiny random-weight LLaVA, a tiny open_clip-format encoder checkpoint
and a synthetic `mcq_jsonl` set of coloured shapes, then evaluates with and without the encoder swap and
prints the comparison. The models are untrained: this is a smoke run of the real code paths.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console

from harness.runner import EvalConfig, run_eval
from harness.summary import print_summary
from harness.toy.shapes import write_mcq_set
from harness.toy.tiny_llava import TinySpec, build_tiny_llava, build_tiny_open_clip_checkpoint


def prepare(cache: Path, n_items: int) -> tuple[Path, Path, Path]:
    """Build (or reuse) the tiny LLaVA, the encoder checkpoint and the data set under `cache`."""
    model_dir = cache / "tiny-llava"
    if not (model_dir / "model.safetensors").exists():
        build_tiny_llava(model_dir, TinySpec())
    encoder = cache / "encoders" / "tiny-open_clip.pt"
    if not encoder.exists():
        build_tiny_open_clip_checkpoint(encoder, TinySpec())
    data = write_mcq_set(cache / "data", n_items, seed=0, style="filled")
    return model_dir, encoder, data


def run_demo(cache: Path, quick: bool = False, console: Console | None = None) -> list[dict]:
    console = console or Console()
    cache = Path(cache).expanduser()
    n = 24 if quick else 120
    console.print(f"[bold]harness demo[/] — building the embedded default in {cache}")
    model_dir, encoder, data = prepare(cache, n)
    base = dict(tasks=[f"mcq_jsonl={data}"], vlm="llava", model=str(model_dir), device="cpu", batch_size=8,
                overwrite=True)
    runs = []
    for label, enc in (("zero-shot", None), ("swapped-encoder", str(encoder))):
        console.print(f"\n[bold]eval[/] {label}")
        runs.append(run_eval(EvalConfig(**base, encoder=enc, label=label, out=str(cache / "runs" / label))))
    swap = runs[1]["encoder"]["swap_report"]
    console.print(f"\n[bold]swap report[/]: {swap.get('summary', swap)}")
    print_summary(console, runs, title="Smoke run: tiny random-weight LLaVA (chance = 25%)")
    console.print("[yellow]These models are untrained random weights: scores near chance are expected. The run "
                  "exercises the real loaders, encoder swap, likelihood engine and records.[/]")
    return runs

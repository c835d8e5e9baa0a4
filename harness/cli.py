"""The `harness` command line."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from harness import report_cli, tune_cli
from harness.summary import print_summary

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
                  help="Evaluate a VLM with an updated vision encoder: exact likelihood scoring, run records.")
console = Console()


def _parse_data(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"--data expects NAME=PATH, got {v!r}")
        out[name] = path
    return out


@app.command("eval")
def eval_cmd(
    tasks: str = typer.Option(..., "--tasks", "-t", help="Comma-separated tasks, e.g. [bold]tsi,vizwiz[/] or "
                              "[bold]mcq_jsonl=PATH[/] for your own JSONL (see `harness tasks`)."),
    vlm: str = typer.Option("llava", help="VLM family (see `harness vlms`)."),
    model: Optional[str] = typer.Option(None, help="Hub id already in the local HF cache, or a local model "
                                        "directory. Default: the family's standard model."),
    encoder: Optional[Path] = typer.Option(None, help="Vision-encoder checkpoint to swap in (HF CLIP dir/"
                                           "safetensors/bin/pt, open_clip, LoRSU release .pt, OpenAI CLIP .pt)."),
    allow_partial: bool = typer.Option(False, help="Accept an encoder checkpoint that lacks some tower "
                                       "tensors (they keep their original values; listed in the report)."),
    interpolate_pos: bool = typer.Option(False, help="Resize the checkpoint's position embeddings "
                                         "(bicubic) when its grid differs from the tower's (e.g. 224 vs 336 px)."),
    data_root: Optional[Path] = typer.Option(None, help="Folder holding each dataset under its usual name."),
    data: list[str] = typer.Option([], help="Per-task data location NAME=PATH (repeatable)."),
    limit: Optional[int] = typer.Option(None, help="Score only the first N items of each task."),
    batch_size: str = typer.Option("8", help="Items per batch, or 'auto' (largest that fits on the GPU)."),
    dtype: str = typer.Option("float32", help="float32 | bfloat16 | float16 (| original for minigptv2: ViT fp32 "
                              "under fp16 autocast, LLM fp16, as released; CUDA only)."),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    seed: int = typer.Option(0, help="Seed for choice sampling in tasks that draw distractors."),
    prompt_style: str = typer.Option("options", help="options: list 'A. ...' and score the letter; "
                                     "text: score each option's text."),
    max_errors: int = typer.Option(0, help="Fail a task when more items than this cannot be scored "
                                   "(unreadable images); they are recorded either way."),
    out: Optional[Path] = typer.Option(None, help="Run directory (default results/runs/<run-id>). "
                                       "Re-running the same command resumes it."),
    label: Optional[str] = typer.Option(None, help="Name of this run in tables (default: encoder file name)."),
    overwrite: bool = typer.Option(False, help="Discard an existing run in --out instead of resuming."),
    quiet: bool = typer.Option(False, help="No progress bars."),
    minigptv2_ckpt: Optional[Path] = typer.Option(None, help="MiniGPT-v2 stage checkpoint "
                                                  "(minigptv2_checkpoint.pth: llama_proj + LoRA)."),
    eva_ckpt: Optional[Path] = typer.Option(None, help="MiniGPT-v2's EVA ViT-g weights (LAVIS eva_vit_g.pth)."),
    mode: str = typer.Option("likelihood", help="likelihood: score every option; generate: greedy answer with "
                             "the task's published instruction, then answer extraction (VizWiz, VSR, HM, ...)."),
    max_new_tokens: int = typer.Option(20, help="Generation length in --mode generate."),
    choices: Optional[Path] = typer.Option(None, help="Re-use the choice sets of a published run (its "
                                           "samples.jsonl or an exported choices file) for tsi/gts/dalle."),
) -> None:
    """Evaluate a VLM (or CLIP) on tasks and write results.json + samples.jsonl; re-running resumes."""
    from harness.runner import EvalConfig, run_eval  # torch loads here, not for `harness --help`

    bs: int | str = batch_size if batch_size == "auto" else int(batch_size)
    cfg = EvalConfig(
        tasks=[t.strip() for t in tasks.split(",") if t.strip()], vlm=vlm, model=model,
        encoder=str(encoder) if encoder else None, allow_partial=allow_partial, interpolate_pos=interpolate_pos,
        data_root=str(data_root) if data_root else None, data=_parse_data(data), limit=limit, batch_size=bs,
        dtype=dtype, device=device, seed=seed, prompt_style=prompt_style, max_errors=max_errors,
        out=str(out) if out else None, label=label, overwrite=overwrite,
        minigptv2_ckpt=str(minigptv2_ckpt) if minigptv2_ckpt else None, eva_ckpt=str(eva_ckpt) if eva_ckpt else None,
        mode=mode, max_new_tokens=max_new_tokens, choices=str(choices) if choices else None)
    results = _guarded(lambda: run_eval(cfg, progress=not quiet))
    print_summary(console, [results])


@app.command("vlms")
def vlms_cmd() -> None:
    """List the VLM families."""
    from adapters.registry import VLMS

    for name, (_, doc) in VLMS.items():
        console.print(f"[bold]{name}[/]  {doc}")
    console.print("[bold]clip[/]  CLIP zero-shot classification (top-1/top-5): --model HF CLIP dir/hub id or "
                  "open_clip:NAME\\[@CHECKPOINT]")


@app.command("tasks")
def tasks_cmd(data_root: Optional[Path] = typer.Option(None, help="Look for datasets here and count items.")) -> None:
    """List the tasks with their layout, split, items found and metrics."""
    from harness.task_listing import print_tasks

    print_tasks(console, data_root)


@app.command("demo")
def demo_cmd(
    cache: Path = typer.Option(Path.home() / ".cache" / "harness" / "demo", help="Where the demo's runs, tuned "
                               "encoders and plot are written."),
    quick: bool = typer.Option(False, help="Two methods and fewer items: under a minute, for first contact."),
) -> None:
    """The paper's study in miniature on the committed toy world (offline, ~2 minutes on 2 cores).

    Zero-shot, five encoder updates, swap, eval, comparison table and trade-off plot."""
    from harness.demo import run_demo

    _guarded(lambda: run_demo(cache, quick=quick, console=console))


data_app = typer.Typer(help="Prepare datasets from their original releases.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("tsi-frames")
def tsi_frames_cmd(videos: Path = typer.Option(..., help="Toyota Smarthome trimmed release: the folder of "
                                               "<Action>_pSS_rRR_vVV_cCC.mp4 clips."),
                   out: Path = typer.Option(..., help="Folder for the middle frames (<clip>.jpg); re-running "
                                            "skips frames already written.")) -> None:
    """Extract the middle frame of every Toyota Smarthome clip (deterministic, resumable)."""
    from tasks.frames import extract_middle_frames

    stats = _guarded(lambda: extract_middle_frames(videos, out))
    console.print(stats)


toy_app = typer.Typer(help="The toy world behind `harness demo`: synthetic shapes, a tiny CLIP and LLaVA.",
                      no_args_is_help=True)
app.add_typer(toy_app, name="toyworld")


@toy_app.command("build")
def toyworld_build_cmd(out: Path = typer.Option(..., help="Where to write clip/, llava/ and build.json."),
                       seed: int = typer.Option(0, help="Seed for data order and initialisation.")) -> None:
    """Train the toy CLIP and LLaVA from scratch (a few minutes on 2 cores) and compare their metrics with
    the committed build."""
    from harness.toy.build import MODELS_DIR, build_world, compare_to_committed

    meta = build_world(out, seed=seed, log=console.print)
    if (MODELS_DIR / "build.json").exists():
        diffs = compare_to_committed(meta)
        console.print("[green]metrics match the committed build within tolerance[/]" if not diffs else
                      "[yellow]differs from the committed build:[/]\n" + "\n".join(diffs))


def _guarded(fn):
    """Known user errors print one clear line instead of a traceback."""
    from adapters.weights import WeightsNotFound
    from harness.records import RunDirMismatch
    from harness.runner import TooManyErrors

    known: tuple[type[BaseException], ...] = (WeightsNotFound, RunDirMismatch, TooManyErrors, FileNotFoundError,
                                              KeyError, ValueError)
    try:
        from adapters.checkpoints import EncoderCheckpointError

        known += (EncoderCheckpointError,)
    except ImportError:
        pass
    try:
        return fn()
    except known as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        console.print(f"[bold red]error:[/] {msg}")
        raise typer.Exit(2) from e


report_cli.register(app)
tune_cli.register(app)

if __name__ == "__main__":
    app()

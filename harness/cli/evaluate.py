"""`harness eval`, `vlms` and `tasks`: parse the options and call the runner."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from harness.cli.common import console, guarded


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
    app.command("vlms")(vlms_cmd)
    app.command("tasks")(tasks_cmd)


def parse_pairs(values: list[str], option: str = "--data", form: str = "NAME=PATH") -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"{option} expects {form}, got {v!r}")
        out[name] = value
    return out


def eval_cmd(
    tasks: str = typer.Option(
        ...,
        "--tasks",
        "-t",
        help="Comma-separated tasks, e.g. [bold]tsi,vizwiz[/] or "
        "[bold]mcq_jsonl=PATH[/] for your own JSONL (see `harness tasks`).",
    ),
    vlm: str = typer.Option("llava", help="VLM family (see `harness vlms`)."),
    model: str | None = typer.Option(
        None,
        help="Hub id already in the local HF cache, or a local model directory. Default: the family's standard model.",
    ),
    encoder: list[str] = typer.Option(
        [],
        help="Vision-encoder checkpoint to swap in (HF CLIP dir/"
        "safetensors/bin/pt, open_clip, LoRSU release .pt, OpenAI CLIP .pt). Repeatable, a glob, or "
        "zero-shot (the original tower): each is evaluated in turn on one loaded VLM, into --out/<label>.",
    ),
    allow_partial: bool = typer.Option(
        False,
        help="Accept an encoder checkpoint that lacks some tower "
        "tensors (they keep their original values; listed in the report).",
    ),
    interpolate_pos: bool = typer.Option(
        False,
        help="Resize the checkpoint's position embeddings "
        "(bicubic) when its grid differs from the tower's (e.g. 224 vs 336 px).",
    ),
    data_root: Path | None = typer.Option(None, help="Folder holding each dataset under its usual name."),
    data: list[str] = typer.Option([], help="Per-task data location NAME=PATH (repeatable)."),
    limit: int | None = typer.Option(None, help="Score only the first N items of each task."),
    batch_size: str = typer.Option("8", help="Items per batch, or 'auto' (largest that fits on the GPU)."),
    dtype: str = typer.Option(
        "float32",
        help="float32 | bfloat16 | float16 (| original for minigptv2: ViT fp32 "
        "under fp16 autocast, LLM fp16, as released).",
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N | mps."),
    seed: int = typer.Option(0, help="Seed for choice sampling in tasks that draw distractors."),
    prompt_style: str = typer.Option(
        "options", help="options: list 'A. ...' and score the letter; text: score each option's text."
    ),
    max_errors: int = typer.Option(
        0,
        help="Fail a task when more items than this cannot be scored "
        "(unreadable images); they are recorded either way.",
    ),
    out: Path | None = typer.Option(
        None, help="Run directory (default results/runs/<run-id>). Re-running the same command resumes it."
    ),
    label: str | None = typer.Option(None, help="Name of this run in tables (default: encoder file name)."),
    meta: list[str] = typer.Option(
        [],
        help="Label the run for reports, KEY=VALUE (repeatable): e.g. method=LoRSU, session=3, order=2 for "
        "`harness cl` (harness tune's session exports label themselves).",
    ),
    overwrite: bool = typer.Option(False, help="Discard an existing run in --out instead of resuming."),
    quiet: bool = typer.Option(False, help="No progress bars."),
    minigptv2_ckpt: Path | None = typer.Option(
        None, help="MiniGPT-v2 stage checkpoint (minigptv2_checkpoint.pth: llama_proj + LoRA)."
    ),
    eva_ckpt: Path | None = typer.Option(None, help="MiniGPT-v2's EVA ViT-g weights (LAVIS eva_vit_g.pth)."),
    peft: Path | None = typer.Option(
        None,
        help="PEFT adapter directory (PeftModel.save_pretrained: adapter_config.json + adapter_model.safetensors, "
        "e.g. a harness tune lora-llm export) merged into the VLM's weights before any --encoder swap. An adapter "
        "for another base model (family, weights, a module or shape that does not fit) is refused.",
    ),
    mode: str = typer.Option(
        "likelihood",
        help="likelihood: score every option; generate: greedy answer with "
        "the task's published instruction, then answer extraction (VizWiz, VSR, HM, ...).",
    ),
    max_new_tokens: int = typer.Option(20, help="Generation length in --mode generate."),
    choices: Path | None = typer.Option(
        None,
        help="Re-use the choice sets of a published run (its "
        "samples.jsonl or an exported choices file) for tsi/gts/dalle.",
    ),
) -> None:
    """Evaluate a VLM (or CLIP) on tasks and write results.json + samples.jsonl; re-running resumes."""
    from harness.eval.encoders import encoder_configs, expand_encoders
    from harness.eval.runner import EvalConfig, run_eval, run_eval_cells  # torch loads here, not for --help
    from harness.report.summary import print_summary

    cfg = EvalConfig(
        tasks=[t.strip() for t in tasks.split(",") if t.strip()],
        vlm=vlm,
        model=model,
        encoder=None,
        allow_partial=allow_partial,
        interpolate_pos=interpolate_pos,
        data_root=str(data_root) if data_root else None,
        data=parse_pairs(data),
        limit=limit,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        seed=seed,
        prompt_style=prompt_style,
        max_errors=max_errors,
        out=str(out) if out else None,
        label=label,
        overwrite=overwrite,
        minigptv2_ckpt=str(minigptv2_ckpt) if minigptv2_ckpt else None,
        eva_ckpt=str(eva_ckpt) if eva_ckpt else None,
        peft=str(peft) if peft else None,
        mode=mode,
        max_new_tokens=max_new_tokens,
        choices=str(choices) if choices else None,
        encoder_meta=parse_pairs(meta, "--meta", "KEY=VALUE"),
    )
    cfgs = guarded(lambda: encoder_configs(cfg, expand_encoders(encoder or ["zero-shot"])))
    if len(cfgs) == 1:
        runs = [guarded(lambda: run_eval(cfgs[0], progress=not quiet))]
    else:
        runs = guarded(lambda: run_eval_cells(cfgs, progress=not quiet))
    if os.environ.get("RANK", "0") == "0":  # under torchrun (which sets RANK) only rank 0 prints
        print_summary(console, runs)


def vlms_cmd() -> None:
    """List the VLM families."""
    from harness.adapters.registry import VLMS, family_doc

    for name in VLMS:
        doc = family_doc(name)
        console.print(f"[bold]{name}[/]  {doc}")
    console.print(
        "[bold]clip[/]  CLIP zero-shot classification (top-1/top-5): --model HF CLIP, SigLIP or FLAVA dir/hub id, or "
        "open_clip:NAME\\[@CHECKPOINT] (CLIP, EVA-CLIP, SigLIP, CoCa). Tuned with the contrastive loss "
        "(harness tune --clip); --encoder swaps a tower of the model's own family."
    )
    console.print(
        "[dim]Not here: the original Qwen-VL (its hub code needs trust_remote_code, which the harness never runs); "
        "CM3leon (no released weights).[/]"
    )


def tasks_cmd(data_root: Path | None = typer.Option(None, help="Look for datasets here and count items.")) -> None:
    """List the tasks with their layout, split, items found and metrics."""
    from harness.tasks.listing import print_tasks

    guarded(lambda: print_tasks(console, data_root))

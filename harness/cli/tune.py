"""`harness tune`: update a vision encoder with LoRSU / SPU / LoRA / LN / F-FT, with CLIP's contrastive loss
(`--clip`) or through a VLM's answer loss (`--vlm FAMILY --model DIR`), and export it."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.common import console, guarded


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_cmd)


def tune_cmd(
    method: str = typer.Option(
        ...,
        help="lorsu | spu | lora | ln | fft (the vision tower); with --vlm also lora-llm (LoRA on every LLM layer), "
        "lora-llm-last (the last --last-layers) or lora-full (vision + projector + LLM), exported as PEFT adapters "
        "for `harness eval --peft`.",
    ),
    clip: str | None = typer.Option(
        None,
        help="The contrastive objective on a CLIP model: HF CLIPModel dir or cached hub id (hf:ID), or "
        "open_clip:NAME or open_clip:NAME@PRETRAINED (a tag or checkpoint file), e.g. "
        "open_clip:ViT-L-14-336@openai, open_clip:EVA01-g-14@eva.pt; NAME may be a config .json.",
    ),
    vlm: str | None = typer.Option(
        None,
        help="The VLM objective instead: the answer tokens' cross-entropy through the frozen projector and LLM of "
        "this family (llava, llava_next, llava_onevision, qwen2_5_vl, qwen3_vl, blip2, instructblip, minigptv2, "
        "gemma4); its vision tower is tuned.",
    ),
    model: str | None = typer.Option(None, help="With --vlm: the VLM's HF directory or cached hub id."),
    minigptv2_ckpt: str | None = typer.Option(None, help="--vlm minigptv2: the stage checkpoint (.pth)."),
    eva_ckpt: str | None = typer.Option(None, help="--vlm minigptv2: the EVA ViT-g weights (eva_vit_g.pth)."),
    dtype: str = typer.Option("float32", help="With --vlm: float32 | bfloat16 | float16 for the frozen VLM."),
    prompt_format: str = typer.Option(
        "official",
        help="With --vlm: official (the released code's 'Based on the image, respond to this question with a short "
        "answer: {question}' -> the class sentence), options (the evaluation's options prompt -> the answer letter) "
        "or text (the evaluation's text-style prompt -> the option's text).",
    ),
    answer_eos: bool = typer.Option(True, help="With --vlm: end every answer with the tokenizer's EOS (as LLaVA)."),
    task: str = typer.Option(
        ...,
        help="Harness task giving the training images and class captions, e.g. gts, "
        "tsi or mcq_jsonl=PATH (see `harness tasks`).",
    ),
    out: Path = typer.Option(
        ...,
        help="Output directory: tune.json and session-N/ checkpoints. Re-running "
        "the same command resumes after the last complete session.",
    ),
    data_root: Path | None = typer.Option(None, help="Folder holding each dataset under its usual name."),
    split: str = typer.Option("train", help="Task split to train on (tasks that have one, e.g. GTSRB train)."),
    limit: int | None = typer.Option(None, help="Use only the first N images of the split."),
    template: list[str] = typer.Option(
        [],
        help="Caption template with '{}' (repeatable). Default: the "
        "released ones (GTSRB: 3 CLIP templates; TSI/DA·E: 'a photo of a person {}').",
    ),
    protocol: str = typer.Option(
        "offline",
        help="offline: the whole split in one session; continual: disjoint class groups, few-shot, no replay.",
    ),
    sessions: int = typer.Option(5, help="Continual sessions (class groups)."),
    shots: int = typer.Option(20, help="Continual: images per class per session (seeded sampling)."),
    epochs: int | None = typer.Option(
        None,
        help="Epochs per session. Default: paper appendix (few-shot "
        "TSI 50 / GTS 10; offline TSI 20 / GTS 10), else 10; 5 with --vlm (README recipe).",
    ),
    lr: float | None = typer.Option(
        None, help="Peak learning rate. Default: released (LoRSU 1e-5, SPU 7.5e-6, LoRA/LN/F-FT 1e-5)."
    ),
    batch_size: int = typer.Option(16, help="Images per step (LoRSU README 16; paper 8 few-shot / 64 offline)."),
    seed: int = typer.Option(0, help="Seed for sampling, shuffling, augmentation and adapter init."),
    rank: int | None = typer.Option(
        None, help="LoRA rank for LoRSU and the LoRA baseline. Default: 32 (paper), 64 with --vlm (README recipe)."
    ),
    alpha: float | None = typer.Option(None, help="LoRA alpha (scale alpha/rank). Default: = rank, as released."),
    sparsity: float | None = typer.Option(
        None, help="fc1 fraction updated per matrix (LoRSU code 0.1, paper 0.05; SPU 0.1)."
    ),
    top_k_heads: int = typer.Option(2, help="LoRSU: attention heads per layer that get LoRA."),
    importance_samples: int = typer.Option(
        1000,
        help="LoRSU: samples for the importance scores (released 1000, paper 800); a few-shot session uses one pass.",
    ),
    lorsu_importance: str = typer.Option(
        "average",
        help="LoRSU scores: average (|mean signed gradient|, released) or squared (sum of squared gradients).",
    ),
    lorsu_proj_lora: bool = typer.Option(True, help="LoRSU released extra: LoRA on the image projection."),
    lorsu_bias: bool = typer.Option(True, help="LoRSU released extra: q/k/v and fc1 biases trainable."),
    spu_importance: str = typer.Option(
        "released", help="SPU scores: released (||logits||^2, cumulative gradients) or contrastive (CLIP loss)."
    ),
    spu_edit_text: bool = typer.Option(False, help="SPU: also edit the text tower's fc1 (as released)."),
    spu_decay_outside_mask: bool = typer.Option(
        False, help="SPU: AdamW decay reaches masked-out entries (as released; then every fc1 entry changes)."
    ),
    weight_decay: float | None = typer.Option(
        None, help="Weight decay (AdamW, inside the masks). Default: SPU 0.2, 0.01 with --vlm, else 0 (Adam)."
    ),
    schedule: str | None = typer.Option(
        None,
        help="released: cosine + warm-up stepped once per epoch (epoch 1 "
        "at min LR; the default with --clip); per_step: the same curve stepped every batch (the default with --vlm).",
    ),
    augment: str = typer.Option("released", help="released: LoRSU's train augmentation; none: resize + crop."),
    lora_persist: bool = typer.Option(True, help="LoRA baseline: keep adapters across sessions (released)."),
    last_layers: int = typer.Option(
        16, help="lora-llm-last: how many of the LLM's last layers get LoRA (released 16)."
    ),
    device: str = typer.Option("auto", help="auto | cpu | cuda | cuda:N."),
    amp: bool = typer.Option(False, help="bf16 autocast on CUDA."),
    workers: int = typer.Option(0, help="DataLoader worker processes."),
    overwrite: bool = typer.Option(False, help="Discard an existing run in --out instead of resuming."),
    quiet: bool = typer.Option(False, help="No progress bars."),
) -> None:
    """Update a vision encoder (CLIP loss, or through a VLM); write merged checkpoints per session."""
    from harness.clip.data import from_task, task_split
    from harness.clip.loading import check_clip_spec
    from harness.tune.config import TuneConfig
    from harness.tune.run import tune

    def go() -> dict:
        from harness.adapters.base import resolve_device

        check_objective(clip, vlm, model)
        cfg = TuneConfig(
            method=method,
            objective="vlm" if vlm else "contrastive",
            protocol=protocol,
            sessions=sessions,
            shots=shots,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            rank=rank,
            alpha=alpha,
            sparsity=sparsity,
            top_k_heads=top_k_heads,
            importance_samples=importance_samples,
            lorsu_importance=lorsu_importance,
            lorsu_proj_lora=lorsu_proj_lora,
            lorsu_bias=lorsu_bias,
            spu_importance=spu_importance,
            spu_edit_text=spu_edit_text,
            spu_decay_outside_mask=spu_decay_outside_mask,
            weight_decay=weight_decay,
            schedule=schedule.replace("-", "_") if schedule else None,
            augment=augment,
            lora_persist=lora_persist,
            last_layers=last_layers,
            device=str(resolve_device(device)),
            amp=amp,
            workers=workers,
        )
        if vlm:
            from harness.tune.vlm_data import question_answers
            from harness.tune.vlm_target import load_target

            # the data (every image) is checked before the model loads, every answer's tokens before --out is made
            data = question_answers(task_split(task, data_root, split, seed), vlm, prompt_format, limit)
            extra = {"minigptv2_ckpt": minigptv2_ckpt, "eva_ckpt": eva_ckpt}
            target = load_target(vlm, model, dtype, cfg.device, answer_eos, **extra)
            target.check_method(method)
            target.check(data)
            return tune(target, data, cfg, out, task=task, progress=not quiet, overwrite=overwrite)
        check_clip_spec(clip, "--clip")  # before the data is read: a wrong --clip fails in a second
        # every image is checked here, before --out is created and before the model loads
        data = from_task(task_split(task, data_root, split, seed), templates=template or None, limit=limit)
        return tune(clip, data, cfg, out, task=task, progress=not quiet, overwrite=overwrite)

    record = guarded(go)
    p = record["parameters"] or {}
    console.print(
        f"[bold]{method}[/] on {task} ({protocol}, {len(record['sessions'])} session(s)): "
        f"trainable {p.get('trainable', 0):,} of {p.get('total', 0):,} vision parameters; "
        f"{record['minutes_per_epoch']} min/epoch"
    )
    print_cost(record)
    for s in record["sessions"]:
        tag = " (already done)" if s.get("skipped_on_resume") else ""
        last = s["epoch_losses"][-1] if s["epoch_losses"] else float("nan")
        console.print(
            f"  session {s['session']}: {s['images']} images, final loss {last:.4f} -> "
            f"{out / ('session-' + str(s['session'])) / s['files']['release']}{tag}"
        )


def check_objective(clip: str | None, vlm: str | None, model: str | None) -> None:
    """Exactly one objective: --clip (contrastive) or --vlm with --model (through the VLM)."""
    from harness.errors import InvalidInput

    if vlm == "clip":
        raise InvalidInput(
            "--vlm clip has no answer loss to tune through; use --clip MODEL for the contrastive objective"
        )
    if bool(clip) == bool(vlm):
        raise InvalidInput("give --clip MODEL (contrastive objective) or --vlm FAMILY --model DIR (through the VLM)")
    if vlm and not model and vlm != "minigptv2":
        raise InvalidInput(f"--vlm {vlm} needs --model: the VLM's HF directory or cached hub id")
    from harness.eval.plan import NO_VISION_TOWER  # torch-free: before a model loads

    if vlm in NO_VISION_TOWER:
        raise InvalidInput(f"--vlm {vlm}: {NO_VISION_TOWER[vlm]}; harness tune updates a vision tower")


def print_cost(record: dict) -> None:
    """What the run cost: trainable entries, FLOPs per step (forward + backward), peak memory, seconds per step."""
    from harness.tune.cost import StepCost, cost_table

    cost = record.get("cost") or {}
    if not cost:
        return
    row = StepCost(
        trainable=int(cost.get("trainable") or 0),
        flops_per_step=cost.get("flops_per_step"),
        peak_memory_bytes=cost.get("peak_memory_bytes"),
        memory_kind=cost.get("memory_kind") or "",
        seconds_per_step=cost.get("seconds_per_step"),
    )
    console.print(cost_table([(record["method"], row)]), markup=False)

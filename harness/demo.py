"""`harness demo`: the paper's study in miniature, offline, on the committed toy world.

1. zero-shot: the toy LLaVA (its vision tower is the toy CLIP's) on the control and target domains;
2. `tune` the toy CLIP on the target domain's training captions with LoRSU, LoRA, LN, SPU and F-FT
   (short budgets), each writing a merged vision-tower checkpoint; then through the VLM (the toy LLaVA's own
   answer loss): LoRSU on its vision tower and the LLM-side baseline, LoRA on the LLM (a PEFT adapter);
3. swap each checkpoint into the LLaVA (`--encoder`; the LoRA-LLM adapter with `--peft`), evaluate both domains;
4. print the comparison table and write the trade-off plot;
5. continual: LoRSU and LoRA over 3 sessions of disjoint target classes (few shots, no replay), every session's
   checkpoint evaluated, then the session × task matrix with its continual-learning metrics and plot.
Every step uses the ordinary code paths (tasks, tuning, encoder swap, engine, records, tables, plot).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness.errors import InvalidInput
from harness.toy.build import MODELS_DIR, evaluate_llava

if TYPE_CHECKING:
    from harness.report.runs import Run

METHODS = ("lorsu", "lora", "ln", "spu", "fft")


@dataclass(frozen=True)
class DemoPlan:
    eval_items: int
    train_images: int
    epochs: int
    methods: tuple[str, ...]
    continual: tuple[str, ...]  # methods run over the sessions
    sessions: int = 3
    shots: int = 12  # training images per class and session
    session_epochs: int | None = None  # epochs of each continual session (None: `epochs`)
    vlm_methods: tuple[str, ...] = ("lorsu", "lora-llm")  # tuned through the VLM objective (labels: vlm_label)
    vlm_train_images: int = 384
    vlm_epochs: int = 2


FULL = DemoPlan(eval_items=400, train_images=2000, epochs=4, methods=METHODS, continual=("lorsu", "lora"))
# A quick continual session is one batch (~26 images): a single epoch is one step, taken at the warm-up's starting
# rate (min_lr), and leaves every score where zero-shot had it. Four epochs add three steps on the cosine down from
# the peak rate, enough to move the scores.
QUICK = DemoPlan(
    eval_items=60,
    train_images=96,
    epochs=1,
    methods=("lorsu", "ln"),
    continual=("lorsu", "ln"),
    shots=2,
    session_epochs=4,
    vlm_train_images=128,
)
# learning rates for the toy CLIP's scale (the released ones, 1e-5, are tuned for CLIP-L on real data)
TOY_LR = {"lorsu": 1e-3, "lora": 1e-3, "ln": 3e-3, "spu": 3e-4, "fft": 1e-4}
# through the VLM (batch 16): the toy LLaVA's answer loss; quick runs see fewer images and take LoRSU's higher rate
TOY_VLM_LR = {"lorsu": 5e-4, "lora-llm": 1e-3}
QUICK_VLM_LR = {"lorsu": 1e-3, "lora-llm": 1e-3}


def zero_shot(cache: Path, plan: DemoPlan, progress: bool = True) -> dict:
    return evaluate_llava(
        MODELS_DIR / "llava", cache / "runs" / "zero-shot", plan.eval_items, label="zero-shot", progress=progress
    )


def tune_method(method: str, cache: Path, plan: DemoPlan, progress: bool = True, continual: bool = False) -> list[Path]:
    """Tune the toy CLIP on the target domain (offline, or over `plan.sessions` continual sessions); returns each
    session's merged checkpoint (LoRSU release layout)."""
    from harness.clip.data import CaptionedImages
    from harness.tasks.toy_scenes import class_names
    from harness.tasks.toy_world import ToyWorldTask
    from harness.tune.config import TuneConfig
    from harness.tune.run import tune

    task = ToyWorldTask("target", "train", size=plan.train_images)
    items = list(task.items())
    data = CaptionedImages(
        [(task.load_image(it), it.meta["class_index"]) for it in items],
        class_names(),
        ("{}",),
        name="toy_target",
        ids=[it.id for it in items],
    )
    cfg = TuneConfig(
        method=method,
        protocol="continual" if continual else "offline",
        sessions=plan.sessions,
        shots=plan.shots,
        epochs=(plan.session_epochs or plan.epochs) if continual else plan.epochs,
        lr=TOY_LR[method],
        batch_size=32,
        importance_samples=min(256, plan.train_images),
        augment="none",
        schedule="per_step",
    )
    out = cache / "tune" / (f"{method}-continual" if continual else method)
    record = tune(str(MODELS_DIR / "clip"), data, cfg, out, task="toy_target", progress=progress, overwrite=True)
    return [out / f"session-{s['session']}" / s["files"]["release"] for s in record["sessions"]]


def vlm_label(method: str) -> str:
    """`lorsu-vlm` for a tower method tuned through the VLM (beside the CLIP-loss `lorsu`); an LLM method's own name."""
    return method if method.startswith("lora-llm") else f"{method}-vlm"


def tune_vlm_method(method: str, cache: Path, plan: DemoPlan, quick: bool, progress: bool = True) -> dict[str, str]:
    """Tune through the toy LLaVA's answer-token loss on the target domain (the text-style prompts it answers);
    returns the `evaluate_llava` keyword naming the export: `encoder` (a tower) or `peft` (an adapter)."""
    from harness.adapters.registry import load_vlm
    from harness.tasks.toy_world import ToyWorldTask
    from harness.toy.build import PROMPT_STYLE
    from harness.tune.config import TuneConfig
    from harness.tune.run import tune
    from harness.tune.vlm_data import question_answers
    from harness.tune.vlm_target import VlmTarget

    adapter = load_vlm("llava", str(MODELS_DIR / "llava"), "float32", "cpu")
    data = question_answers(ToyWorldTask("target", "train", size=plan.vlm_train_images), "llava", PROMPT_STYLE)
    cfg = TuneConfig(
        method=method,
        objective="vlm",
        epochs=plan.vlm_epochs,
        lr=(QUICK_VLM_LR if quick else TOY_VLM_LR)[method],
        batch_size=16,
        importance_samples=min(256, plan.vlm_train_images),
        rank=8 if method == "lora-llm" else None,
    )
    out = cache / "tune" / vlm_label(method)
    record = tune(VlmTarget(adapter), data, cfg, out, task="toy_target", progress=progress, overwrite=True)
    session = record["sessions"][-1]
    path = str(out / f"session-{session['session']}" / session["files"]["release"])
    return {"peft": path} if session["files"]["release"] == "peft" else {"encoder": path}


def run_demo(cache: Path, quick: bool = False, console: Console | None = None) -> list[dict]:
    from harness.report.html_report import write_report
    from harness.report.plot import draw_tradeoff, tradeoff_points
    from harness.report.runs import load_run
    from harness.report.summary import print_summary
    from harness.report.table_format import render
    from harness.report.tables import build_tables

    console = console or Console()
    cache = Path(cache).expanduser()
    if cache.exists() and not cache.is_dir():
        raise InvalidInput(f"--cache {cache}: exists and is not a directory")
    plan = QUICK if quick else FULL
    t0 = time.perf_counter()
    console.print(f"[bold]harness demo[/] — the toy world study{' (quick)' if quick else ''}; runs in {cache}")
    console.print("\n[bold]1/4 zero-shot[/]: the toy LLaVA on control (filled shapes) and target (outlines)")
    runs = [zero_shot(cache, plan)]
    for k, method in enumerate(plan.methods, 1):
        console.print(
            f"\n[bold]2/4 tune {method}[/] ({k}/{len(plan.methods)}) on toy_target:train, then swap "
            f"it into the LLaVA and evaluate"
        )
        ckpt = tune_method(method, cache, plan)[-1]
        runs.append(
            evaluate_llava(
                MODELS_DIR / "llava",
                cache / "runs" / method,
                plan.eval_items,
                encoder=str(ckpt),
                label=method,
                progress=True,
            )
        )
    for k, method in enumerate(plan.vlm_methods, 1):
        console.print(
            f"\n[bold]2/4 tune {method} through the VLM[/] ({k}/{len(plan.vlm_methods)}): the toy LLaVA's answer loss "
            f"on toy_target:train, {'the LLM (a PEFT adapter)' if method == 'lora-llm' else 'its vision tower'}"
        )
        export = tune_vlm_method(method, cache, plan, quick)
        label = vlm_label(method)
        runs.append(
            evaluate_llava(
                MODELS_DIR / "llava", cache / "runs" / label, plan.eval_items, label=label, progress=True, **export
            )
        )
    console.print("\n[bold]3/4 compare[/]")
    print_summary(console, runs, title="Toy world: accuracy per run")
    loaded = [load_run(Path(r["run_dir"])) for r in runs]
    console.print(render(build_tables(loaded, baseline="zero-shot", delta=True), "md", standalone=False))
    points, target, controls, _ = tradeoff_points(
        loaded, target="toy_target", controls=["toy_control"], baseline="zero-shot"
    )
    paths = draw_tradeoff(points, target, controls, cache / "tradeoff.png")
    console.print(f"trade-off plot: {', '.join(map(str, paths))}")
    sessions = continual_study(cache, plan, loaded[0], console)
    lorsu = [r for r in loaded if r.label == "lorsu"]
    if lorsu:
        report, _ = write_report([loaded[0], lorsu[0]], cache / "report.html", continual=sessions)
        console.print(f"items learned and forgotten (zero-shot vs LoRSU) and the continual matrices: {report}")
    console.print(f"({time.perf_counter() - t0:.0f} s in all)")
    console.print("[dim]Honest output: these are the numbers this run measured; no method is promised to win.[/]")
    return runs


def continual_study(cache: Path, plan: DemoPlan, zero: Run, console: Console) -> list[Run]:
    """Each continual method's sessions, every checkpoint evaluated; the matrix, metrics and plot printed/written.
    Returns the runs (zero-shot first)."""
    from harness.report.continual_format import continual_reports, render
    from harness.report.continual_plot import draw_sessions
    from harness.report.runs import load_run

    console.print(
        f"\n[bold]4/4 continual[/]: {' and '.join(plan.continual)} over {plan.sessions} sessions of disjoint target "
        f"classes ({plan.shots} images per class, no replay), each session's checkpoint evaluated"
    )
    runs = [zero]
    for method in plan.continual:
        for s, ckpt in enumerate(tune_method(method, cache, plan, progress=False, continual=True), 1):
            label = f"{method}-session-{s}"
            out = cache / "runs" / "continual" / label
            evaluate_llava(MODELS_DIR / "llava", out, plan.eval_items, encoder=str(ckpt), label=label)
            runs.append(load_run(out))
    reports = continual_reports(runs, target="toy_target", controls=["toy_control"], n_boot=500)
    console.print(render(reports, "md"), markup=False, highlight=False, soft_wrap=True)
    console.print(f"across sessions: {', '.join(map(str, draw_sessions(reports, cache / 'continual.png')))}")
    return runs

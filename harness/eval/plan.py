"""Everything `harness eval` can check before a model loads: the tasks' data, the encoder file, the `--peft`
adapter directory, the `--choices` file and an existing run in `--out`. A 7B model takes minutes to load; a typo
should not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.adapters.model_types import MODEL_TYPES
from harness.adapters.peft_merge import check_peft_dir, peft_sha256
from harness.adapters.weights import sha256_file
from harness.errors import InputNotFound, InvalidInput
from harness.eval.config import EvalConfig, check_settings
from harness.eval.environment import harness_version
from harness.eval.records import RunDir
from harness.eval.run import task_key
from harness.tasks.base import Item, Task
from harness.tasks.registry import build_task


@dataclass
class Plan:
    """The tasks built from their data, and the choice sets re-used (None without `--choices`)."""

    tasks: dict[str, Task]
    choices_used: dict[str, Any] | None


def plan_eval(cfg: EvalConfig) -> Plan:
    """Build and check everything that needs no model; raises naming the option and the file."""
    check_settings(cfg)
    check_encoder_fits(cfg)
    data = {k: Path(v) for k, v in cfg.data.items()}
    root = Path(cfg.data_root) if cfg.data_root else None
    if root is not None and not root.is_dir():
        raise InputNotFound(f"--data-root {root}: no such directory")
    tasks = {task_key(spec): build_task(spec, data_root=root, data=data, seed=cfg.seed) for spec in cfg.tasks}
    if len(tasks) != len(cfg.tasks):
        raise InvalidInput(f"--tasks names a task twice: {cfg.tasks}")
    for spec, task in zip(cfg.tasks, tasks.values()):
        if next(iter(task.items()), None) is None:  # reads the annotation files: a missing or broken one fails here
            raise InvalidInput(f"--tasks {spec}: the task has no items")
    check_model(cfg)
    if cfg.encoder:
        from harness.adapters.checkpoints import check_encoder_file  # torch: only when there is a file to read
        from harness.adapters.registry import VLMS, check_encoder_family

        check_encoder_file(cfg.encoder)
        if cfg.vlm in VLMS:  # another family's tower is refused by its names, before the VLM loads
            check_encoder_family(cfg.vlm, cfg.encoder)
    if cfg.peft:
        check_peft_dir(cfg.peft, cfg.vlm)
    choices_used = apply_choices(tasks, cfg.choices)
    if cfg.out and not cfg.overwrite:  # with or without an adapter: a run made with the other is refused here
        known = {"peft_sha256": None, **known_fingerprint(cfg, tasks, choices_used)}
        RunDir(Path(cfg.out)).check(known, partial=True)
    return Plan(tasks, choices_used)


# families whose images reach the LLM through no continuous vision tower: nothing an --encoder file could replace
NO_VISION_TOWER = {
    "chameleon": "Chameleon has no continuous vision tower: its images are discrete codes of a VQ-VAE image "
    "tokenizer, which no --encoder checkpoint fits",
}


def check_encoder_fits(cfg: EvalConfig) -> None:
    """`--encoder` names a file for a family that has a tower to swap it into."""
    if cfg.encoder and cfg.vlm in NO_VISION_TOWER:
        raise InvalidInput(f"--encoder {cfg.encoder}: --vlm {cfg.vlm} cannot swap encoders. {NO_VISION_TOWER[cfg.vlm]}")


def check_model(cfg: EvalConfig) -> None:
    """A local --model directory holds the family's model (config.json model_type, weight files)."""
    from harness.adapters.hf_loading import check_model_dir  # torch-free

    if cfg.model and cfg.vlm in MODEL_TYPES and Path(cfg.model).expanduser().is_dir():
        check_model_dir(Path(cfg.model).expanduser(), "--model", MODEL_TYPES[cfg.vlm])


def known_fingerprint(cfg: EvalConfig, tasks: dict[str, Task], choices_used: dict[str, Any] | None) -> dict[str, Any]:
    """The fingerprint fields known before the model loads (the rest come from the adapter and the swap). The PEFT
    adapter's sha256 is there only with `--peft`, so runs without one keep their fingerprint and directory."""
    return {
        "vlm": cfg.vlm,
        "tasks": {k: t.version for k, t in tasks.items()},
        "task_specs": cfg.tasks,
        "prompt_style": cfg.prompt_style,
        "batch_size": str(cfg.batch_size),
        "seed": cfg.seed,
        "harness_version": harness_version(),
        "mode": cfg.mode,
        "max_new_tokens": cfg.max_new_tokens if cfg.mode == "generate" else None,
        "choices": choices_used,
        **({"peft_sha256": peft_sha256(cfg.peft)} if cfg.peft else {}),
    }


def apply_choices(tasks: dict[str, Task], path: str | None) -> dict[str, Any] | None:
    """Re-use published choice sets (an exported file or a run's samples.jsonl) where a task draws them."""
    if not path:
        return None
    used = [k for k, t in tasks.items() if hasattr(t, "use_choices")]
    if not used:
        raise InvalidInput(
            f"--choices {path}: none of the tasks {list(tasks)} draws its choices (only tsi, gts and dalle do)"
        )
    for k in used:  # items outside the file are refused later, once --limit has chosen the items
        tasks[k].use_choices(Path(path), missing="keep")
    return {"path": str(path), "sha256": sha256_file(Path(path)), "tasks": used}


def check_choices_cover(key: str, task: Task, items: list[Item], path: str) -> None:
    """Every chosen item of a task has a published choice set."""
    from harness.tasks.choices import load_choices

    table = load_choices(Path(path), task=task.name)
    absent = [it.id for it in items if it.id not in table]
    if absent:
        raise InvalidInput(
            f"--choices {path}: {len(absent)} of the {len(items)} items of {key} have no choice set "
            f"there, e.g. {absent[:5]} (was the published run made with a smaller --limit?)"
        )

"""The settings of one `harness eval` run, and the checks on them that need nothing but the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.adapters.device import check_device
from harness.errors import InvalidInput, UserError
from harness.tasks.base import PROMPT_STYLES

GENERATE_MAX_NEW_TOKENS = 20  # the LoRSU and MiniGPT-v2 evaluation protocols


@dataclass
class EvalConfig:
    tasks: list[str]
    vlm: str = "llava"
    model: str | None = None
    encoder: str | None = None
    allow_partial: bool = False
    interpolate_pos: bool = False
    data_root: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    limit: int | None = None
    batch_size: int | str = 8
    dtype: str = "float32"
    device: str = "auto"
    seed: int = 0
    prompt_style: str = "options"
    max_errors: int = 0
    out: str | None = None
    label: str | None = None
    overwrite: bool = False
    minigptv2_ckpt: str | None = None
    eva_ckpt: str | None = None
    peft: str | None = None  # a PEFT adapter directory merged into the VLM's weights before the encoder swap
    mode: str = "likelihood"
    max_new_tokens: int = GENERATE_MAX_NEW_TOKENS
    choices: str | None = None
    encoder_meta: dict[str, str] = field(default_factory=dict)  # labels for reports (method, session, order, ...)


class TooManyErrors(UserError):
    """More items of a task could not be scored than `--max-errors` allows."""


def parse_batch_size(value: object, option: str = "--batch-size") -> int | str:
    """An integer >= 1 (from an int or its decimal string) or "auto"; anything else names the option."""
    if value == "auto":
        return "auto"
    text = str(value).strip()
    if not isinstance(value, bool) and text.isdigit() and int(text) >= 1:
        return int(text)
    raise InvalidInput(f"{option} {value!r}: expected an integer >= 1 or 'auto'")


def check_settings(cfg: EvalConfig) -> None:
    """Bad option values fail before anything is read or loaded (`batch_size` comes back as an int or "auto")."""
    cfg.batch_size = parse_batch_size(cfg.batch_size)
    check_device(cfg.device)
    if cfg.mode not in ("likelihood", "generate"):
        raise InvalidInput(f"--mode {cfg.mode!r}: expected likelihood or generate")
    if cfg.prompt_style not in PROMPT_STYLES:
        raise InvalidInput(f"--prompt-style {cfg.prompt_style!r}: expected one of {', '.join(PROMPT_STYLES)}")

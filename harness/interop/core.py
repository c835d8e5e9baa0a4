"""What the lm-eval and lmms-eval models share: load the adapter (merge a PEFT adapter, swap the encoder) from
harness-style options, score grouped log-likelihood requests through the engine, generate greedily, fingerprint
the model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from harness.adapters.peft_merge import check_peft_dir, merge_peft
from harness.adapters.registry import VLMS, load_vlm
from harness.errors import InvalidInput
from harness.eval.engine import Engine, Request
from harness.eval.environment import harness_version
from harness.eval.run import digest, model_fingerprint
from harness.tasks.base import PROMPT_STYLES, open_rgb

OPTIONS = (
    "vlm",
    "model",
    "encoder",
    "dtype",
    "device",
    "batch_size",
    "minigptv2_ckpt",
    "eva_ckpt",
    "peft",
    "prompt_style",
    "allow_partial",
    "interpolate_pos",
    "max_gen_toks",
)
# what lm-eval / lmms-eval pass besides model_args; model_args win (their CLIs always pass a default device)
FRAMEWORK_KEYS = ("device", "batch_size")
IMAGE_PLACEHOLDER = re.compile(r"<image>[ \t]*\n?")


def merge_options(model_args: dict[str, Any], framework: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """model_args, plus the framework's `device`/`batch_size` where model_args do not set them; unknown
    model_args are an error naming them."""
    unknown = sorted(set(model_args) - set(OPTIONS))
    if unknown:
        raise InvalidInput(f"{name}: unknown model_args {unknown}; expected some of {', '.join(OPTIONS)}")
    out = dict(model_args)
    for k in FRAMEWORK_KEYS:
        if k not in out and (framework or {}).get(k) is not None:
            out[k] = framework[k]
    return out


@dataclass(frozen=True)
class Group:
    """One image and context with every continuation to score after it (delimiter included)."""

    image: Image.Image
    context: str
    continuations: tuple[str, ...]


class Backend:
    """The loaded adapter, its encoder swap, the engine and the model fingerprint."""

    def __init__(
        self,
        vlm: str = "llava",
        model: str | None = None,
        encoder: str | None = None,
        dtype: str = "float32",
        device: str = "auto",
        batch_size: int | str = 8,
        minigptv2_ckpt: str | None = None,
        eva_ckpt: str | None = None,
        peft: str | None = None,
        prompt_style: str = "options",
        allow_partial: bool = False,
        interpolate_pos: bool = False,
        max_gen_toks: int = 256,
    ):
        if vlm not in VLMS:
            raise InvalidInput(f"model_args vlm={vlm!r}: expected one of {', '.join(VLMS)}")
        if prompt_style not in PROMPT_STYLES:
            raise InvalidInput(f"model_args prompt_style={prompt_style!r}: expected one of {', '.join(PROMPT_STYLES)}")
        if encoder:
            from harness.adapters.checkpoints import check_encoder_file

            check_encoder_file(encoder)  # before the model loads
        if peft:
            check_peft_dir(peft, vlm, "model_args peft")
        self.adapter = load_vlm(vlm, model, dtype, str(device), minigptv2_ckpt=minigptv2_ckpt, eva_ckpt=eva_ckpt)
        self.info = self.adapter.describe()
        weights = self.info.get("weights_sha256")
        self.peft = merge_peft(self.adapter, peft, weights, "model_args peft") if peft else None  # before the swap
        self.swap = self.adapter.swap_encoder(encoder, allow_partial, interpolate_pos).to_dict() if encoder else None
        self.engine = Engine(self.adapter, batch_size)
        self.max_gen_toks = int(max_gen_toks)
        self.prompt_style = prompt_style
        self.fingerprint = {
            "vlm": vlm,
            **model_fingerprint(self.info, self.swap),
            **({"peft_sha256": self.peft["sha256"]} if self.peft else {}),
            "harness_version": harness_version(),
        }
        self.fingerprint_sha256 = digest(self.fingerprint)

    def model_info(self) -> dict[str, Any]:
        """For the framework's results: the adapter's facts, the swap report, the merged PEFT adapter and the
        fingerprint."""
        return {
            "harness_model": self.info,
            "harness_encoder_swap": self.swap,
            "harness_peft": self.peft,
            "harness_fingerprint": self.fingerprint,
            "harness_fingerprint_sha256": self.fingerprint_sha256,
        }

    def context(self, text: str) -> str:
        """The framework's context in the VLM's chat template; `<image>` placeholders are dropped because the
        template places the image itself. An empty context becomes the image with no question."""
        return self.adapter.format_prompt(IMAGE_PLACEHOLDER.sub("", text))

    def score(self, groups: Sequence[Group]) -> list[list[tuple[float, bool]]]:
        """(sum of log-probs, every token greedy) per continuation, through the shared-prefix engine."""
        reqs = [Request(str(i), g.image, self.context(g.context), g.continuations, "") for i, g in enumerate(groups)]
        out: list[list[tuple[float, bool]]] = [[] for _ in groups]
        for req, scores in self.engine.score_stream(reqs):
            out[int(req.key)] = [(float(s.logprob), bool(s.is_greedy)) for s in scores]
        return out

    def generate(self, images: list[Image.Image], contexts: list[str], gen_kwargs: dict[str, Any]) -> list[str]:
        """Greedy answers cut at the first `until` string (lm-eval's generate_until contract)."""
        if gen_kwargs.get("do_sample") or float(gen_kwargs.get("temperature") or 0) > 0:
            raise InvalidInput(f"gen_kwargs {gen_kwargs}: the harness decodes greedily only (do_sample=false)")
        until = gen_kwargs.get("until") or []
        until = [until] if isinstance(until, str) else list(until)
        max_new = int(gen_kwargs.get("max_gen_toks") or gen_kwargs.get("max_new_tokens") or self.max_gen_toks)
        texts = []
        size = self.engine.batch_size
        for start in range(0, len(images), size):
            chunk = list(zip(images[start : start + size], contexts[start : start + size]))
            # the image too: any-resolution families size the image tokens by it
            ids = [self.adapter.encode(self.context(c), im) for im, c in chunk]
            texts += self.adapter.generate([im for im, _ in chunk], ids, max_new)
        return [cut(t, until) for t in texts]


def runs(kwargs: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """[start, end) spans of consecutive requests with equal gen_kwargs (each span is one generate call)."""
    spans: list[tuple[int, int]] = []
    for i, kw in enumerate(kwargs):
        if spans and kwargs[spans[-1][0]] == kw:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def cut(text: str, until: list[str]) -> str:
    for stop in until:
        if stop and stop in text:
            text = text[: text.index(stop)]
    return text


def one_image(visual: Any, where: str) -> Image.Image:
    """The single image of a request (a PIL image or a path, alone or in a list)."""
    items = list(visual) if isinstance(visual, (list, tuple)) else ([] if visual is None else [visual])
    if len(items) != 1:
        raise InvalidInput(f"{where}: the harness scores exactly one image per request, got {len(items)}")
    im = items[0]
    if isinstance(im, (str, Path)):
        return open_rgb(Path(im))
    if isinstance(im, Image.Image):
        return im if im.mode == "RGB" else im.convert("RGB")
    raise InvalidInput(f"{where}: expected a PIL image or an image path, got {type(im).__name__}")

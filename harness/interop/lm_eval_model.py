"""`harness-vlm`: the harness as an lm-eval 0.4.x model (exact image log-likelihoods, greedy generation).

`loglikelihood` groups requests by (task, doc, context) and scores each group through the engine: the image
and context run once, every continuation comes from the prefix cache. It returns (sum of the continuation
tokens' log-probs, every token the argmax), lm-eval's definition, also for empty contexts (acc_mutual_info:
the image with no question). Importing this module registers the model.

lm-eval's response cache (`--use_cache`) keys ignore the model, so a cache written by another model or
encoder would be served silently: the model writes its fingerprint into the cache db and refuses a db
holding another fingerprint, or answers with none.
"""

from __future__ import annotations

from typing import Any

import lm_eval.models  # noqa: F401  (the built-in table must load before we register: else get_model("hf") fails)
from lm_eval.api.model import LM
from lm_eval.api.registry import model_registry, register_model
from lm_eval.utils import simple_parse_args_string

from harness.errors import InvalidInput, UserError
from harness.interop.core import Backend, Group, merge_options, one_image, runs

NAME = "harness-vlm"
CACHE_KEY = "harness-vlm:fingerprint"


class CacheMismatch(UserError):
    """An lm-eval response cache written by a different model, encoder or harness version."""


class HarnessVLM(LM):
    """lm-eval model over any harness VLM adapter; model_args are `harness eval`'s options."""

    MULTIMODAL = True

    def __init__(self, **options: Any):
        super().__init__()
        self.backend = Backend(**merge_options(options, None, NAME))
        self._device = self.backend.adapter.device

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None) -> HarnessVLM:
        return cls(**merge_options(simple_parse_args_string(arg_string), additional_config, NAME))

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict | None = None) -> HarnessVLM:
        return cls(**merge_options(dict(arg_dict), additional_config, NAME))

    def set_cache_hook(self, cache_hook: Any) -> None:
        super().set_cache_hook(cache_hook)
        db = getattr(cache_hook, "dbdict", None)
        if db is not None:
            check_cache(db, self.backend.fingerprint_sha256, str(getattr(db, "filename", "?")))

    def get_model_info(self) -> dict[str, Any]:
        return self.backend.model_info()

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        index: dict[tuple[Any, Any, str], int] = {}
        groups: list[tuple[Any, str, list[str]]] = []
        where: list[tuple[int, int]] = []
        for r in requests:
            ctx, cont, *aux = r.args
            key = (r.task_name, r.doc_id, ctx)
            if key not in index:
                self.check_render(r)
                index[key] = len(groups)
                groups.append((visual_of(aux, r), ctx, []))
            g = index[key]
            where.append((g, len(groups[g][2])))
            groups[g][2].append(cont)
        scores = self.backend.score([Group(im, ctx, tuple(conts)) for im, ctx, conts in groups])
        return [scores[g][k] for g, k in where]

    def check_render(self, r: Any) -> None:
        """Our tasks' documents name the family/prompt style they were rendered for; it must be ours."""
        doc = getattr(r, "doc", None)
        want = f"{self.backend.adapter.family}/{self.backend.prompt_style}"
        if isinstance(doc, dict) and doc.get("harness_render", want) != want:
            raise InvalidInput(
                f"{NAME}: task {r.task_name} was rendered for {doc['harness_render']} but the model is {want}; "
                "pass the same vlm= and prompt_style= in model_args (or the task manager's metadata)"
            )

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        raise InvalidInput(f"{NAME}: loglikelihood_rolling (perplexity tasks) is not supported; use image tasks")

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        kwargs = [dict(r.args[1]) for r in requests]
        out: list[str] = []
        for start, end in runs(kwargs):  # consecutive requests with equal gen_kwargs generate in batches
            chunk = requests[start:end]
            images = [visual_of(list(r.args[2:]), r) for r in chunk]
            out += self.backend.generate(images, [r.args[0] for r in chunk], kwargs[start])
        return out


def visual_of(aux: list[Any], r: Any) -> Any:
    where = f"{NAME}: task {r.task_name} doc {r.doc_id}"
    if not aux or not isinstance(aux[0], dict) or aux[0].get("visual") is None:
        raise InvalidInput(f"{where}: the request has no image (the task needs doc_to_image)")
    return one_image(aux[0]["visual"], where)


def check_cache(db: Any, fingerprint: str, path: str) -> None:
    """Write our fingerprint into a new cache db; refuse one written by another model or without one."""
    stored = db.get(CACHE_KEY)
    if stored == fingerprint:
        return
    if stored is None and len(db) == 0:
        db[CACHE_KEY] = fingerprint
        db.commit()
        return
    who = f"model fingerprint {stored[:12]}" if stored else "a model without a harness fingerprint"
    raise CacheMismatch(
        f"--use_cache {path}: this cache was written by {who}, but this run is {fingerprint[:12]} (model, "
        "encoder, dtype, prompt template and harness version); lm-eval's cache keys ignore the model, so its "
        "answers would be wrong here. Give each model/encoder its own --use_cache path."
    )


if NAME not in model_registry.keys():  # re-import (reload, notebooks) must not re-register
    register_model(NAME)(HarnessVLM)

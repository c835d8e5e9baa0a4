"""`harness`: the harness as an lmms-eval 0.7.x model, registered through the `lmms_eval.models` entry-point
group (`--model harness`); model_args are `harness eval`'s options.

`loglikelihood` returns lmms-eval's documented pair (sum of the continuation's log-probs, greedy), exact and
higher-is-better — not a mean loss as its `llava_hf` returns. lmms-eval's built-in `multiple_choice`
scoring takes the argmin (it assumes losses), so multiple-choice YAMLs for this model use
`process_results: !function harness.interop.lmms_eval_model.mc_results` (argmax, lm-eval's acc/acc_norm).
lmms-eval 0.7.3's evaluator turns every response that is not a string into `str(...)` (its CLI and its
`simple_evaluate` alike), which breaks its built-in loglikelihood/multiple_choice scoring for any model;
`mc_results` parses the pair back (a float's repr round-trips exactly), so such tasks run with it.
"""

from __future__ import annotations

import ast
from typing import Any

from lmms_eval.api.model import lmms
from lmms_eval.models.registry_v2 import ModelManifest

from harness.errors import InvalidInput
from harness.interop.core import Backend, Group, merge_options, one_image, runs
from harness.tasks.metrics import argmax_first

NAME = "harness"


def manifest() -> ModelManifest:
    """The `lmms_eval.models` entry point's payload."""
    return ModelManifest(model_id=NAME, simple_class_path=f"{__name__}.HarnessLMMS")


class HarnessLMMS(lmms):
    """lmms-eval model over any harness VLM adapter."""

    is_simple = True

    def __init__(self, **options: Any):
        super().__init__()
        framework = {k: options.pop(k) for k in ("device", "batch_size", "max_batch_size") if k in options}
        self.backend = Backend(**merge_options(options, framework, NAME))

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None) -> HarnessLMMS:
        from lmms_eval.utils import simple_parse_args_string

        return cls(**merge_options(simple_parse_args_string(arg_string), additional_config, NAME))

    def _doc_visual(self, doc_to_visual: Any, doc_id: int, task: str, split: str) -> Any:
        where = f"{NAME}: task {task} doc {doc_id}"
        return one_image(doc_to_visual(self.task_dict[task][split][doc_id]), where)

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        """Grouped by (task, doc, context). lmms-eval's unconditional requests of `acc_mutual_info` are
        `('', continuation)` with no visual: they take their document's image from its conditional requests in
        the same call and score it with no question, as the lm-eval bridge does."""
        visuals = {(r.args[4], r.args[3]): (r.args[2], r.args[5]) for r in requests if len(r.args) == 6}
        index: dict[tuple[Any, Any, str], int] = {}
        groups: list[tuple[Any, str, list[str]]] = []
        where: list[tuple[int, int]] = []
        for r in requests:
            ctx, target, (doc_to_visual, doc_id, task, split) = r.args[0], r.args[1], self._source(r, visuals)
            cont = target if isinstance(target, str) else target(self.task_dict[task][split][doc_id])
            key = (task, doc_id, ctx)
            if key not in index:
                index[key] = len(groups)
                groups.append((self._doc_visual(doc_to_visual, doc_id, task, split), ctx, []))
            g = index[key]
            where.append((g, len(groups[g][2])))
            groups[g][2].append(cont)
        scores = self.backend.score([Group(im, ctx, tuple(conts)) for im, ctx, conts in groups])
        return [scores[g][k] for g, k in where]

    @staticmethod
    def _source(r: Any, visuals: dict[tuple[Any, Any], tuple[Any, str]]) -> tuple[Any, Any, str, str]:
        """(doc_to_visual, doc_id, task, split) of a request; an unconditional one borrows its document's."""
        if len(r.args) == 6:
            return r.args[2], r.args[3], r.args[4], r.args[5]
        task, doc_id = getattr(r, "task_name", None), getattr(r, "doc_id", None)
        if len(r.args) != 2 or r.args[0] != "" or (task, doc_id) not in visuals:
            raise InvalidInput(
                f"{NAME}: task {task} doc {doc_id}: a loglikelihood request of {len(r.args)} arguments; expected "
                "lmms-eval's six (context, continuation, doc_to_visual, doc_id, task, split), or its unconditional "
                "('', continuation) together with the document's own requests"
            )
        doc_to_visual, split = visuals[(task, doc_id)]
        return doc_to_visual, doc_id, task, split

    def generate_until(self, requests: list[Any]) -> list[str]:
        kwargs = [dict(r.args[1]) for r in requests]
        out: list[str] = []
        for start, end in runs(kwargs):  # consecutive requests with equal gen_kwargs generate in batches
            chunk = [r.args for r in requests[start:end]]
            images = [self._doc_visual(visual, doc_id, task, split) for _, _, visual, doc_id, task, split in chunk]
            out += self.backend.generate(images, [a[0] for a in chunk], kwargs[start])
        return out

    def generate_until_multi_round(self, requests: list[Any]) -> list[str]:
        raise NotImplementedError(f"{NAME}: multi-round generation is not supported")


def mc_results(doc: dict[str, Any], results: list[tuple[float, bool]]) -> dict[str, float]:
    """acc / acc_norm by argmax of log-likelihoods (lm-eval's rule) for lmms-eval `multiple_choice` tasks whose
    docs hold `choices` and an int `answer`. Accepts the pairs or lmms-eval 0.7.3's `str()` of them."""
    lls = [float(ast.literal_eval(r)[0] if isinstance(r, str) else r[0]) for r in results]
    norm = [ll / max(len(c), 1) for ll, c in zip(lls, doc["choices"])]
    return {"acc": float(argmax_first(lls) == doc["answer"]), "acc_norm": float(argmax_first(norm) == doc["answer"])}

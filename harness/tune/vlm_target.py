"""Tuning a VLM's vision tower through the VLM's own answer loss (`AnswerObjective`), every family alike.

Each session exports the merged tower in its own transformers names as safetensors,
`session-S/checkpoint_session-S_epoch-E.safetensors`, which `harness eval --encoder` swaps back into the same
family (HF CLIP / HF SigLIP / HF EVA formats). The projector and the LLM are never written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader

from harness.clip.data import CaptionedImages
from harness.clip.models import TunableTower
from harness.errors import InvalidInput
from harness.tune.config import PEFT_METHODS, TuneConfig
from harness.tune.lora_llm import PeftLoRA
from harness.tune.objective import Objective
from harness.tune.target import TuneTarget
from harness.tune.vlm_data import QuestionAnswers, pair_loader
from harness.tune.vlm_model import VlmTower
from harness.tune.vlm_objective import AnswerObjective

PEFT_META = "harness_peft.json"


def release_name(session: int, epoch: int) -> str:
    return f"checkpoint_session-{session}_epoch-{epoch}.safetensors"


class VlmTarget(TuneTarget):
    def __init__(self, adapter: Any, spec: str = "", eos: bool = True):
        self.adapter = adapter
        self.model = VlmTower.of(adapter, spec)
        self._objective = AnswerObjective(adapter, eos=eos)

    def objective(self, method: Any, data: CaptionedImages) -> Objective:
        return self._objective

    def check(self, data: QuestionAnswers) -> None:
        """Before anything is written: every answer gives tokens to train on."""
        self._objective.check(data.prompts)

    def loader(self, data: CaptionedImages, cfg: TuneConfig, seed: int) -> DataLoader:
        if not isinstance(data, QuestionAnswers):
            raise InvalidInput("the VLM objective trains on question-answer pairs (harness.tune.vlm_data)")
        return pair_loader(data, cfg.batch_size, seed, cfg.workers)

    def export(
        self, model: TunableTower, session_dir: Path, session: int, epoch: int, method: Any = None
    ) -> dict[str, str | None]:
        session_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(method, PeftLoRA):
            return self._export_adapter(method, session_dir, session)
        path = session_dir / release_name(session, epoch)
        tmp = path.with_suffix(".tmp")
        save_file(model.release_state_dict(), str(tmp), metadata={"format": "pt", "harness": "vision tower"})
        tmp.replace(path)
        return {"release": path.name, "hf": None}

    def _export_adapter(self, method: PeftLoRA, session_dir: Path, session: int) -> dict[str, str | None]:
        """peft's own format in `peft/`, with `harness_peft.json` naming the base model it belongs to."""
        tmp = session_dir / "peft.tmp"
        method.save_adapter(tmp)
        facts = self.adapter.describe()
        meta = {"vlm": self.adapter.family, "weights_sha256": facts.get("weights_sha256"), "model": facts.get("model")}
        meta |= {"method": method.cfg.method, "session": session}
        (tmp / PEFT_META).write_text(json.dumps(meta, indent=1) + "\n")
        tmp.replace(session_dir / "peft")
        return {"release": "peft", "hf": None}

    def check_method(self, method: str) -> None:
        """Before anything is written: a PEFT method needs a transformers VLM (MiniGPT-v2 already carries the
        release's own LoRA on its Llama)."""
        if method in PEFT_METHODS and not hasattr(self.adapter.model, "get_decoder"):
            raise InvalidInput(
                f"--method {method}: --vlm {self.adapter.family} is assembled from parts whose Llama already carries "
                f"the release's LoRA; LLM-side LoRA baselines need a transformers VLM (llava, blip2, ...)"
            )

    def restore(self, path: Path) -> None:
        m = self.model
        m.load_release_state_dict({k: v.to(m.device) for k, v in load_file(str(path)).items()})

    def describe(self) -> dict[str, Any]:
        facts = self.adapter.describe()
        keep = ("vlm", "model", "weights_sha256", "dtype", "device", "prompt_template", "transformers")
        return {
            "model": self.model.spec or facts.get("model"),
            "model_info": {**self.model.describe(), **{k: facts.get(k) for k in keep}},
            "objective": "vlm_answer_cross_entropy",
        }


def load_target(family: str, model: str | None, dtype: str, device: str, eos: bool = True, **options: Any) -> VlmTarget:
    """Load the VLM of `family` (checked as `harness eval` checks it) and wrap its tower for tuning."""
    from harness.adapters.registry import load_vlm

    adapter = load_vlm(family, model, dtype, device, **{k: v for k, v in options.items() if v is not None})
    return VlmTarget(adapter, spec=model or "", eos=eos)

"""PEFT adapters for the tiny LLaVA, saved as `harness tune` will export them: `PeftModel.save_pretrained` of a LoRA
on the LLM's linears with non-zero random lora_B, `harness_peft.json` beside it, optionally inside a session export
(`OUT/tune.json`, `OUT/session-S/session.json`, `OUT/session-S/peft/`)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

LLM_LINEARS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


def save_lora_llm(model_dir: Path, out: Path, seed: int = 0, target_modules: str | list[str] = LLM_LINEARS) -> Path:
    """A LoRA (r 4, alpha 8) on every LLM layer's q, k, v, o, gate, up, down of the model in `model_dir`, lora_B
    filled with N(0, 0.05) so that it changes the scores; saved to `out` with its harness_peft.json."""
    from peft import LoraConfig, get_peft_model

    from harness.adapters.llava import LlavaAdapter
    from harness.adapters.weights import weights_fingerprint

    adapter = LlavaAdapter.load(str(model_dir), dtype="float32", device="cpu")
    peft_model = get_peft_model(adapter.model, LoraConfig(r=4, lora_alpha=8, target_modules=target_modules))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    with warnings.catch_warnings():  # peft looks for the base model's config on the hub (offline here)
        warnings.simplefilter("ignore")
        peft_model.save_pretrained(str(out))
    record = {"vlm": "llava", "weights_sha256": weights_fingerprint(model_dir), "method": "lora-llm", "session": 1}
    (out / "harness_peft.json").write_text(json.dumps(record))
    return out


def session_export(model_dir: Path, root: Path, method: str = "lora-llm", sessions: int = 2, seed: int = 0) -> Path:
    """A `harness tune --protocol continual` LoRA-LLM export; returns its last session's peft directory."""
    root.mkdir(parents=True, exist_ok=True)
    plan = [{"session": s, "classes": [s], "images": 4} for s in range(1, sessions + 1)]
    (root / "tune.json").write_text(json.dumps({"method": method, "task": "mcq_jsonl", "seed": 3, "plan": plan}))
    for s in range(1, sessions + 1):
        (root / f"session-{s}").mkdir(exist_ok=True)
        (root / f"session-{s}" / "session.json").write_text(json.dumps({"session": s, "class_names": [f"c{s}"]}))
        out = save_lora_llm(model_dir, root / f"session-{s}" / "peft", seed=seed + s)
        record = json.loads((out / "harness_peft.json").read_text())
        (out / "harness_peft.json").write_text(json.dumps({**record, "method": method, "session": s}))
    return out


def merged_reference(model_dir: Path, peft_dir: Path, encoder: Path | None = None, merge: bool = True):
    """A fresh tiny LLaVA with the adapter applied by peft itself (merged, or left as LoRA layers when not `merge`)
    and the encoder swapped in after it: the model `harness eval --peft` must score as."""
    from peft import PeftModel

    from harness.adapters.llava import LlavaAdapter

    adapter = LlavaAdapter.load(str(model_dir), dtype="float32", device="cpu")
    wrapped = PeftModel.from_pretrained(adapter.model, str(peft_dir))
    adapter.model = wrapped.merge_and_unload() if merge else wrapped.base_model.model  # LoRA layers injected in place
    adapter.model.eval()
    if encoder is not None:
        adapter.swap_encoder(str(encoder))
    return adapter

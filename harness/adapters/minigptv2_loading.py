"""Loading MiniGPT-v2's released weights: the stage checkpoint (`llama_proj` + LoRA) and `eva_vit_g.pth`.

Modern peft names LoRA tensors `...lora_A.default.weight`; the release (peft 0.2) has no adapter name, so
a plain `load_state_dict(strict=False)` silently loads nothing. Here every LoRA and `llama_proj` tensor
must land, or the load is refused with counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import set_peft_model_state_dict

from harness.adapters.minigptv2_model import MiniGPTv2
from harness.errors import InputNotFound, InvalidInput

LORA_KEY = re.compile(
    r"^llama_model\.(base_model\.model\.model\.layers\.\d+\.self_attn\.[qv]_proj\.lora_[AB])"
    r"(\.default)?\.weight$"
)


class MiniGPTv2CheckpointError(InvalidInput):
    """A MiniGPT-v2 stage checkpoint that does not fit the model; nothing was loaded."""


@dataclass
class LoadReport:
    path: str
    loaded: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "loaded": self.loaded,
            "ignored": self.ignored[:20],
            "n_ignored": len(self.ignored),
            "notes": self.notes,
        }


def read_state(path: Path, what: str) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"{what}: no file at {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise MiniGPTv2CheckpointError(
            f"{what}: cannot read {path} with weights_only=True ({type(e).__name__}: {str(e)[:200]}). "
            f"It must be a torch.save'd dict of tensors."
        ) from e
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise MiniGPTv2CheckpointError(f"{what}: {path} holds no state dict of tensors")
    return obj


def load_stage_checkpoint(model: MiniGPTv2, path: Path) -> LoadReport:
    """`ckpt["model"]`: `llama_proj.*`, LoRA on q/v of every layer, optionally `ln_vision.*`."""
    sd = read_state(path, "--minigptv2-ckpt")
    report = LoadReport(str(path))
    lora, proj, ln = {}, {}, {}
    for key, t in sd.items():
        if m := LORA_KEY.match(key):
            lora[m.group(1) + ".weight"] = t
        elif key.startswith("llama_proj."):
            proj[key.removeprefix("llama_proj.")] = t
        elif key.startswith("ln_vision."):
            ln[key.removeprefix("ln_vision.")] = t
        else:
            report.ignored.append(key)
    want_lora = [n.replace(".default", "") for n, _ in model.llama_model.named_parameters() if "lora_" in n]
    lora_mismatch = _lora_mismatch(sd, set(lora), want_lora)
    if lora_mismatch or set(proj) != {"weight", "bias"}:
        raise MiniGPTv2CheckpointError(
            f"--minigptv2-ckpt {path}: expected {len(want_lora)} LoRA tensors (q_proj/v_proj lora_A/B of every "
            f"layer, named llama_model.base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight) and "
            f"llama_proj.weight/bias; found {len(lora)} LoRA and llama_proj {sorted(proj)}. {lora_mismatch}"
            "Nothing was loaded."
        )
    _check_shapes(model.llama_proj.state_dict(), proj, "llama_proj", path)
    set_peft_model_state_dict(model.llama_model, lora)
    # verify every LoRA parameter now equals its tensor in the file (modern names carry ".default")
    wrong = [
        n
        for n, p in model.llama_model.named_parameters()
        if "lora_" in n
        and not torch.equal(p.detach().cpu(), lora.get(n.replace(".default", ""), torch.empty(0)).to(p.dtype))
    ]
    if wrong:
        raise MiniGPTv2CheckpointError(
            f"--minigptv2-ckpt {path}: {len(wrong)} LoRA tensors did not load, e.g. {wrong[:3]}"
        )
    with torch.no_grad():
        model.llama_proj.weight.copy_(proj["weight"])
        model.llama_proj.bias.copy_(proj["bias"])
        if ln:
            model.visual_encoder.post_layernorm.load_state_dict(ln)
    report.loaded = {"lora": len(lora), "llama_proj": 2, "ln_vision": len(ln)}
    if not ln:
        report.notes.append("no ln_vision.* in the checkpoint: ln_vision stays weight=1, bias=0 (as released)")
    return report


def load_eva_vit_g(vision: torch.nn.Module, path: Path) -> dict[str, Any]:
    """LAVIS `eva_vit_g.pth` (bare names, 224-px grid) into MiniGPT-v2's ViT: the same validated swap as
    `--encoder` (the last block dropped, positions resized once to the tower's grid, every tower tensor but
    ln_vision replaced)."""
    from harness.adapters.checkpoints import swap_encoder

    if not Path(path).is_file():
        raise InputNotFound(f"--eva-ckpt: no file at {path}")
    return swap_encoder(vision, path).to_dict()


def _lora_mismatch(sd: dict[str, torch.Tensor], matched: set[str], want: list[str]) -> str:
    """'' when the file's LoRA tensors are exactly the model's; else the first offending keys as they appear in
    the file, each with the name it was expected to have (same layer, q/v, A/B), and the expected ones absent."""
    slot = re.compile(r"layers\.(\d+)\..*?([qv])_proj\.lora_([AB])")
    expected = {m.groups(): "llama_model." + n for n in want if (m := slot.search(n))}
    known = set(want)
    stray = [k for k in sd if "lora_" in k and not ((m := LORA_KEY.match(k)) and m.group(1) + ".weight" in known)]
    absent = [f"llama_model.{n}" for n in want if n not in matched]
    if not stray and not absent:
        return ""
    shown = [
        f"{k} (expected {expected[m.groups()]})" if (m := slot.search(k)) and m.groups() in expected else k
        for k in stray[:3]
    ]
    parts = []
    if stray:
        parts.append(f"{len(stray)} LoRA keys in the file match no model tensor, e.g. {'; '.join(shown)}")
    if absent:
        parts.append(f"{len(absent)} expected LoRA tensors are not in the file, e.g. {', '.join(absent[:3])}")
    return ". ".join(parts) + ". "


def _check_shapes(target: dict[str, torch.Tensor], source: dict[str, torch.Tensor], what: str, path: Path) -> None:
    bad = [
        (k, tuple(source[k].shape), tuple(target[k].shape))
        for k in source
        if k in target and source[k].shape != target[k].shape
    ]
    if bad:
        lines = ", ".join(f"{k}: file {s} vs model {t}" for k, s, t in bad[:4])
        raise MiniGPTv2CheckpointError(f"{path}: {what} shape mismatch ({lines}). Nothing was loaded.")

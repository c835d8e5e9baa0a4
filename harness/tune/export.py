"""Writing a session's merged vision tower: LoRSU release layout and HF safetensors.

- `checkpoint_session-{s}_epoch-{E}.pt`: `torch.save({"epoch": E, "state_dict": model.visual.state_dict()})`
  in open_clip names without `visual.` (HF models are converted with `keymap.hf_to_open_clip`; EVA
  towers keep open_clip's timm-trunk names, `trunk.blocks.N...`);
- `vision_hf/`: a transformers `CLIPVisionModelWithProjection` (`config.json` + `model.safetensors`),
  for CLIP ViTs of both families (not for EVA towers, which have no HF CLIP form).
"""

from __future__ import annotations

from pathlib import Path

import torch

from harness.clip.models import ClipModel

HF_DIR = "vision_hf"


def release_name(session: int, epoch: int) -> str:
    return f"checkpoint_session-{session}_epoch-{epoch}.pt"


def save_release(model: ClipModel, path: Path, epoch: int) -> Path:
    sd = {k: v.detach().cpu().contiguous() for k, v in model.release_state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"epoch": epoch, "state_dict": sd}, tmp)
    tmp.replace(path)
    return path


def load_release(path: Path) -> dict[str, torch.Tensor]:
    obj = torch.load(path, map_location="cpu", weights_only=True)
    return obj["state_dict"] if isinstance(obj, dict) and "state_dict" in obj else obj


def save_hf(model: ClipModel, out_dir: Path) -> Path | None:
    import transformers

    hf = model.hf_vision_model()
    if hf is None:
        return None
    transformers.utils.logging.disable_progress_bar()
    out_dir.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


def export_session(model: ClipModel, session_dir: Path, session: int, epoch: int) -> dict[str, str | None]:
    """Write both forms; returns their paths relative to `session_dir` (hf None for EVA towers)."""
    release = save_release(model, session_dir / release_name(session, epoch), epoch)
    hf = save_hf(model, session_dir / HF_DIR)
    return {"release": release.name, "hf": hf.name if hf is not None else None}

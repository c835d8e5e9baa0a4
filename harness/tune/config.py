"""`TuneConfig`: every hyper-parameter of a tuning run, with the released defaults.

Where the paper and the released code differ the default follows the code; the paper's value is one
option away (noted per field). `None` means "the method's / task's released default" (`resolved`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from harness.errors import InvalidInput

TOWER_METHODS = ("lorsu", "spu", "lora", "ln", "fft")
PEFT_METHODS = ("lora-llm", "lora-llm-last", "lora-full")  # through the VLM only; exported as PEFT adapters
METHODS = TOWER_METHODS + PEFT_METHODS
OBJECTIVES = ("contrastive", "vlm")
PROTOCOLS = ("offline", "continual")
# Released learning rates: LoRSU README (1e-5), SPU config (7.5e-6). The baselines use LoRSU's trainer.
DEFAULT_LR = {"lorsu": 1e-5, "spu": 7.5e-6, "lora": 1e-5, "ln": 1e-5, "fft": 1e-5} | dict.fromkeys(PEFT_METHODS, 1e-5)
# Paper appendix B: few-shot 50 (TSI) / 10 (GTS) epochs; offline 20 (TSI) / 10 (GTS).
# The official README's CL-5 recipe for the VLM objective (`lorsu_v_ppl`): rank 64, alpha 64, 5 epochs, weight decay
# 0.01 (AdamW), warm-up then cosine to 1e-6 stepped per batch (`src/llava/train/train_llm.py`); the CLIP-loss path
# keeps the paper's rank 32 and the released per-epoch schedule with Adam.
VLM_DEFAULTS = {"rank": 64, "epochs": 5, "weight_decay": 0.01, "schedule": "per_step"}
PAPER_EPOCHS = {("continual", "tsi"): 50, ("continual", "gts"): 10, ("offline", "tsi"): 20, ("offline", "gts"): 10}


@dataclass(frozen=True)
class TuneConfig:
    method: str = "lorsu"
    objective: str = "contrastive"  # contrastive: CLIP / SigLIP loss; vlm: answer cross-entropy through the VLM
    protocol: str = "offline"
    sessions: int = 5
    shots: int = 20
    epochs: int | None = None  # None: paper appendix per task, else 10
    lr: float | None = None  # None: DEFAULT_LR[method]
    batch_size: int = 16  # LoRSU README; paper: 8 few-shot / 64 offline
    seed: int = 0
    rank: int | None = None  # None: 32 (paper) for contrastive, 64 (LoRSU README recipe) through the VLM
    alpha: float | None = None  # None: = rank (the release passes alpha == rank)
    sparsity: float | None = None  # None: LoRSU 0.1 (code default in the README recipe; paper 0.05), SPU 0.1
    top_k_heads: int = 2
    importance_samples: int = 1000  # LoRSU grad_total_points_mask (paper: 800 offline)
    lorsu_importance: str = "average"  # average: |mean signed grad| (code); squared: sum of squared grads
    lorsu_proj_lora: bool = True  # released extra: LoRA on the image projection
    lorsu_bias: bool = True  # released extra: q/k/v (in_proj) bias and fc1 bias trainable
    spu_importance: str = "released"  # released: ||logits||^2 loss, cumulative grads; contrastive: CLIP loss
    spu_edit_text: bool = False  # release also edits the text tower's fc1
    spu_decay_outside_mask: bool = False  # AdamW decay on masked-out entries too (the release does)
    weight_decay: float | None = None  # None: 0.2 SPU, 0.01 through the VLM (AdamW, decay inside the masks), else 0
    schedule: str | None = None  # released: cosine+warm-up stepped per epoch; per_step: per batch (VLM default)
    warmup: int = 1
    min_lr: float | None = None  # None: 1e-6 (LoRSU trainer), 0 for SPU
    augment: str = "released"  # released: LoRSU train transform; none: resize + crop
    lora_persist: bool = True  # LoRA baseline keeps its adapters across sessions (as released)
    last_layers: int = 16  # lora-llm-last: the LLM layers adapted (released `lora_lastlayers` default)
    device: str = "cpu"
    amp: bool = False  # bf16 autocast on CUDA
    workers: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(f"--method {self.method!r}: expected one of {', '.join(METHODS)}")
        if self.protocol not in PROTOCOLS:
            raise InvalidInput(f"--protocol {self.protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        if self.objective not in OBJECTIVES:
            raise InvalidInput(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.method in PEFT_METHODS and self.objective != "vlm":
            raise InvalidInput(f"--method {self.method} adapts the LLM: it runs through the VLM (--vlm), not --clip")
        if self.schedule not in (None, "released", "per_step"):
            raise InvalidInput(f"schedule must be 'released' or 'per_step', got {self.schedule!r}")
        if self.lorsu_importance not in ("average", "squared"):
            raise InvalidInput(f"lorsu_importance must be 'average' or 'squared', got {self.lorsu_importance!r}")
        if self.spu_importance not in ("released", "contrastive"):
            raise InvalidInput(f"spu_importance must be 'released' or 'contrastive', got {self.spu_importance!r}")
        for name in ("sessions", "shots", "batch_size", "rank", "top_k_heads", "epochs", "last_layers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InvalidInput(f"{name} must be >= 1, got {value}")

    def resolved(self, task: str = "") -> TuneConfig:
        """A copy with every `None` replaced by its default for this method and task."""
        key = (self.protocol, task.partition("=")[0])
        vlm = self.objective == "vlm"
        rank = self.rank if self.rank is not None else (VLM_DEFAULTS["rank"] if vlm else 32)
        epochs = VLM_DEFAULTS["epochs"] if vlm else PAPER_EPOCHS.get(key, 10)
        decay = 0.2 if self.method == "spu" else (VLM_DEFAULTS["weight_decay"] if vlm else 0.0)
        return replace(
            self,
            epochs=self.epochs if self.epochs is not None else epochs,
            lr=self.lr if self.lr is not None else DEFAULT_LR[self.method],
            rank=rank,
            alpha=self.alpha if self.alpha is not None else float(rank),
            sparsity=self.sparsity if self.sparsity is not None else 0.1,
            weight_decay=self.weight_decay if self.weight_decay is not None else decay,
            schedule=self.schedule or (VLM_DEFAULTS["schedule"] if vlm else "released"),
            min_lr=self.min_lr if self.min_lr is not None else (0.0 if self.method == "spu" else 1e-6),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

"""The VLM adapter contract the engine scores through; adapters know models, never tasks or batching.

An adapter turns (image, context token ids) into a `Prefix` (last-position log-probs and a reusable
KV cache) and scores continuation tokens from that cache. Everything else (splitting continuations,
batching, the single-token shortcut) lives in `harness.eval.engine`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from harness.adapters.device import check_device
from harness.errors import InvalidInput


@dataclass
class Prefix:
    """State after running image + prompt for a batch of items.

    `last_logprobs[b]` is the log-softmax (fp32) at item b's last prompt token; `cache` is opaque to
    the engine; `lengths[b]` is item b's real (unpadded) prefix length.
    """

    last_logprobs: torch.Tensor
    cache: Any
    attention_mask: torch.Tensor
    lengths: torch.Tensor


class VLMAdapter(ABC):
    """One VLM family. Subclasses live one per file in `harness/adapters/`."""

    family: str = ""
    target_delimiter: str = " "

    @abstractmethod
    def format_prompt(self, instruction: str) -> str:
        """The chat-formatted context text, with the image placeholder, ending where the answer starts."""

    @abstractmethod
    def encode(self, text: str, image: Image.Image | None = None) -> list[int]:
        """Token ids of `text` as the model sees it with `image` (special tokens and image placeholders
        included). Families whose image-token count depends on the image (any-resolution tiling) need the
        image to expand its placeholder; the others ignore it."""

    @abstractmethod
    def prefill(self, images: list[Image.Image], contexts: list[list[int]]) -> Prefix:
        """Run the vision tower and the prompts (one image per context) and keep the KV cache."""

    @abstractmethod
    def extend(
        self, prefix: Prefix, rows: torch.Tensor, input_ids: torch.Tensor, positions: torch.Tensor, attend: torch.Tensor
    ) -> torch.Tensor:
        """Log-probs (fp32) [R, T, V] for packed continuation tokens `input_ids` [R, T] after prefix rows
        `rows` [R]. Token i sits at position `lengths[row] + positions[r, i]`, sees every real prefix token
        and the packed tokens j with `attend[r, i, j]`. May consume `prefix.cache`."""

    @abstractmethod
    def full_logprobs(self, image: Image.Image, ids: list[int], n_context: int | None = None) -> torch.Tensor:
        """Reference path: log-softmax over one plain forward of `ids` with no cache ([len(ids), V]). The first
        `n_context` ids (all when None) are the prompt: a family whose image module reads the prompt
        (InstructBLIP's Q-Former) reads those, never the option after them."""

    def train_logits(self, images: list[Image.Image], sequences: list[list[int]], n_context: list[int]) -> torch.Tensor:
        """Logits [B, T, V] of one plain forward of each right-padded sequence, with gradients (the training
        objective's forward; `harness.tune.vlm_objective`). The first `n_context[b]` ids of row b are its prompt
        (what an image module such as InstructBLIP's Q-Former may read)."""
        raise InvalidInput(f"--vlm {self.family}: this family cannot be tuned through the VLM objective")

    @property
    @abstractmethod
    def vision_tower(self) -> torch.nn.Module:
        """The module an encoder checkpoint swaps into (and the one reset between encoders)."""

    def swap_encoder(self, path: str, allow_partial: bool = False, interpolate_pos: bool = False) -> Any:
        """Replace the vision tower's weights from a checkpoint (validated); returns the swap report."""
        from harness.adapters.checkpoints import swap_encoder

        self.swap_report = swap_encoder(
            self.vision_tower, path, allow_partial=allow_partial, interpolate_pos=interpolate_pos
        )
        return self.swap_report

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Facts for the run record (model id, weight hash, dtype, device, prompt template)."""

    def generate(self, images: list[Image.Image], contexts: list[list[int]], max_new_tokens: int) -> list[str]:
        """Greedy answers for a batch (left-padded; one image per context)."""
        raise NotImplementedError(f"{self.family} adapter has no generation")


def resolve_device(device: str) -> torch.device:
    """`auto` → CUDA when present, else CPU; asking for CUDA (or MPS) where there is none is an error."""
    if check_device(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput(f"--device {device}: CUDA is not available on this machine")
    if device.startswith("cuda:") and int(device[5:]) >= torch.cuda.device_count():
        raise InvalidInput(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    if device == "mps" and not torch.backends.mps.is_available():
        raise InvalidInput("--device mps: MPS is not available on this machine")
    return torch.device(device)

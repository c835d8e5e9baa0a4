"""Any-resolution tiling shared by LLaVA-NeXT and LLaVA-OneVision: the image-token count depends on the image.

The processor tiles each image on the best grid pinpoint for its size, so the number of `<image>` positions
varies per image. `encode(text, image)` expands the placeholder to the count the processor gives for an image
of that size (asked once per size, on a blank probe image: the count depends on the size alone), and the
model receives the tiles plus each image's `image_sizes`. Scoring, caching and generation are LLaVA's.
"""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from harness.adapters.llava import LlavaAdapter


class AnyResAdapter(LlavaAdapter):
    """A LLaVA-style family whose processor tiles images at any resolution (`image_grid_pinpoints`)."""

    def __init__(self, model: torch.nn.Module, processor: Any, **kwargs: Any):
        self._counts: dict[tuple[int, int], int] = {}
        super().__init__(model, processor, **kwargs)

    def _count_image_tokens(self) -> int:
        return self.image_token_count(Image.new("RGB", (8, 8)))

    def image_token_count(self, image: Image.Image | None) -> int:
        if image is None:
            raise ValueError(
                f"{self.family}: the number of image tokens depends on the image size (any-resolution "
                f"tiling); encode(text, image) needs the image"
            )
        size = image.size
        if size not in self._counts:
            token = self.tokenizer.convert_ids_to_tokens(self.image_token_id)
            ids = self.processor(text=token, images=Image.new("RGB", size), return_tensors="pt").input_ids[0]
            self._counts[size] = int((ids == self.image_token_id).sum())
        return self._counts[size]

    def image_inputs(self, images: list[Image.Image]) -> dict[str, torch.Tensor]:
        """Tiles [B, max tiles, C, H, W] (zero-padded where an image has fewer) and (height, width) per image."""
        out = self.processor.image_processor(images, return_tensors="pt")
        return {
            "pixel_values": out["pixel_values"].to(self.device, self.dtype),
            "image_sizes": out["image_sizes"].to(self.device),
        }

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        cfg = self.model.config
        info["image_tokens"] = "per image size (any-resolution tiling)"
        info["image_grid_pinpoints"] = [list(p) for p in cfg.image_grid_pinpoints]
        info["image_tokens_by_size"] = {f"{w}x{h}": n for (w, h), n in sorted(self._counts.items())}
        return info

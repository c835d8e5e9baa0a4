"""MiniGPT-v2 rebuilt from maintained parts: EVA ViT-g (transformers `Blip2VisionModel`), the 4-token
merge, `llama_proj`, and Llama-2-chat with peft LoRA (r=64, alpha=16, dropout 0.05 on q_proj, v_proj).

Facts (shapes, the 1×4 raster merge, ln_vision eps 1e-5, LoRA naming) follow
shared/reference/minigptv2.md §1–3.
"""

from __future__ import annotations

import warnings

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn
from transformers import Blip2VisionConfig, Blip2VisionModel, LlamaForCausalLM

IMAGE_PLACEHOLDER = -200  # marks image-embedding positions in context ids; never a vocabulary id
LN_VISION_EPS = 1e-5
MERGE = 4  # consecutive visual tokens concatenated per LLM token (a 1×4 strip in raster order)


def eva_vit_g_config(image_size: int = 448) -> Blip2VisionConfig:
    """EVA ViT-g as MiniGPT-v2 uses it: 39 blocks (the 40th dropped), width 1408, 16 heads, patch 14."""
    return Blip2VisionConfig(
        hidden_size=1408,
        intermediate_size=6144,
        num_hidden_layers=39,
        num_attention_heads=16,
        patch_size=14,
        image_size=image_size,
        hidden_act="gelu",
        layer_norm_eps=1e-6,
        qkv_bias=True,
    )


def blank_vision_tower(config: Blip2VisionConfig, dtype: torch.dtype) -> Blip2VisionModel:
    """The ViT in `dtype`, all zeros except ln_vision (`post_layernorm`: weight 1, bias 0, as released), built
    without random initialisation (about 19 s for the 1B ViT-g on two CPU cores): the EVA file fills every
    other tensor, and its swap refuses a file that does not."""
    with torch.device("meta"):
        vision = Blip2VisionModel._from_config(config, dtype=dtype)
    vision.to_empty(device="cpu")
    with torch.no_grad():
        for p in vision.parameters():
            p.zero_()
    vision.post_layernorm.reset_parameters()
    return vision


def minigptv2_lora_config() -> LoraConfig:
    return LoraConfig(
        r=64, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], bias="none", task_type="CAUSAL_LM"
    )


class MiniGPTv2(nn.Module):
    """The assembled model. `visual_encoder.post_layernorm` plays `ln_vision` (eps 1e-5)."""

    def __init__(self, vision: Blip2VisionModel, llama: LlamaForCausalLM | PeftModel, lora: LoraConfig | None = None):
        super().__init__()
        vision.post_layernorm.eps = LN_VISION_EPS
        self.visual_encoder = vision
        width = vision.config.hidden_size
        if isinstance(llama, PeftModel):
            self.llama_model = llama
        else:
            with warnings.catch_warnings():  # peft itself reads transformers' deprecated is_gradient_checkpointing
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                self.llama_model = get_peft_model(llama, lora or minigptv2_lora_config())
        hidden = self.llama_model.get_base_model().config.hidden_size
        self.llama_proj = nn.Linear(width * MERGE, hidden)

    @property
    def llm(self) -> LlamaForCausalLM:
        return self.llama_model.get_base_model()

    def encode_img(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] → [B, N/4, hidden]: ln_vision(ViT) without CLS, 4 raster-consecutive tokens merged."""
        x = self.visual_encoder(pixel_values=pixel_values).last_hidden_state[:, 1:, :]
        b, n, c = x.shape
        if n % MERGE:
            raise ValueError(f"{n} visual tokens cannot be merged in groups of {MERGE}")
        x = x.reshape(b, n // MERGE, c * MERGE)
        return self.llama_proj(x.to(self.llama_proj.weight.dtype))

    def embed(self, ids: torch.Tensor, image_embeds: torch.Tensor) -> torch.Tensor:
        """Token embeddings of `ids` [B, L] with each row's IMAGE_PLACEHOLDER run replaced by its image."""
        is_img = ids == IMAGE_PLACEHOLDER
        tok = self.llm.get_input_embeddings()(ids.masked_fill(is_img, 0))
        counts = is_img.sum(-1)
        if bool((counts != image_embeds.shape[1]).any()):
            raise ValueError(f"context holds {counts.tolist()} image positions, image has {image_embeds.shape[1]}")
        tok = tok.clone()
        tok[is_img] = image_embeds.reshape(-1, image_embeds.shape[-1]).to(tok.dtype)
        return tok

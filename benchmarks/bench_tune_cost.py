"""FLOPs per training step of each encoder-update method at the published LLaVA-1.5-7B geometry, without weights.

Every model is built on the meta device from `harness/toy/published_llava.py` (CLIP ViT-L/14-336 tower, Vicuna-7B
LLM), so `FlopCounterMode` counts matrix products from shapes: no download, no GPU, no arithmetic. One step is
forward + `loss.backward()` of a batch of 16 (the LoRSU README's CL-5 recipe), each sample one 336-px image
(576 image tokens) and 64 text tokens (56 of prompt, 8 of answer: 640 LLM positions); the answer-token loss reads
the logits of every position, as transformers' LLaVA forward computes them. Attention is eager, the hand count of
`tests/harness/tune/test_cost.py` (SDPA on meta takes its math path and counts the same; a fused kernel's formula
adds one recomputation of the scores to the backward: under 2 % of any step here).

Methods (what autograd computes follows from what requires grad):
- LoRSU-CLIP: tower + visual projection, symmetric contrastive loss against the batch's text features, cached
  (the harness) or from the frozen text tower run each step on 77 tokens (the released code); trainable: fc1
  weights (gradient masked to 10 %) and a rank-64 LoRA restricted to the q/k/v rows of 2 heads per block (the
  harness's own parametrization, which like the released code backpropagates into the merged q/k/v weights).
  The released extras (biases, a LoRA on the projection) add < 0.01 % and are left out;
- LoRSU-VLM: the same trainables on the blocks LLaVA reads (feature layer -2), loss through the frozen LLM;
- LoRA-VLM: peft LoRA (rank 64) on every linear of those blocks, loss through the frozen LLM;
- LoRA-LLM: peft LoRA (rank 8, the official default) on q, k, v, o, gate, up, down of every LLM layer;
- LoRA-full: peft LoRA (rank 8) on the official `full_lora` targets: tower, projector, LLM and lm_head;
- F-FT tower: every tower weight, through the VLM; full VLM: every weight of the model.

    python benchmarks/bench_tune_cost.py [--batch 16] [--prompt-tokens 56] [--answer-tokens 8]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
)

from harness.toy.published_llava import CLIP_L_336, LLAVA
from harness.tune.cost import count_flops
from harness.tune.params import attach_lora

META = torch.device("meta")
ATTENTION = "eager"
# openai/clip-vit-large-patch14-336 config.json, text_config (published_llava holds the vision tower only)
CLIP_L_TEXT = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12}
CONTEXT = 77  # CLIP's text context length
LORSU = {"rank": 64, "alpha": 64, "heads": 2, "sparsity": 0.1}  # the README's CL-5 recipe
VISION_LORA_RANK, LLM_LORA_RANK = 64, 8
LLM_TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj")
LLM_TARGETS += ("mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
TOWER_TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")
FULL_LORA = ["q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "fc1", "fc2", "gate_proj", "up_proj", "down_proj"]
FULL_LORA += ["lm_head", "linear_1", "linear_2"]  # mm_projector.0 / .2 in the released code's names


def _fields(d: dict[str, Any], *drop: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("model_type", *drop)}


def vision_config() -> CLIPVisionConfig:
    cfg = CLIPVisionConfig(**_fields(CLIP_L_336))
    cfg._attn_implementation = ATTENTION
    return cfg


def llava() -> LlavaForConditionalGeneration:
    cfg = LLAVA["config"]
    config = LlavaConfig(
        text_config=LlamaConfig(**_fields(cfg["text_config"])),
        vision_config=CLIPVisionConfig(**_fields(cfg["vision_config"])),
        **_fields(cfg, "text_config", "vision_config"),
    )
    for c in (config, config.text_config, config.vision_config):
        c._attn_implementation = ATTENTION
    with META:
        return LlavaForConditionalGeneration(config).requires_grad_(False)


def tower_layers(model: nn.Module) -> list[nn.Module]:
    return next(list(m) for name, m in model.named_modules() if name.endswith("encoder.layers"))


def used_layers(model: LlavaForConditionalGeneration) -> list[nn.Module]:
    """The tower blocks whose output LLaVA reads (feature layer -2: all but the last)."""
    n = model.config.vision_config.num_hidden_layers + model.config.vision_feature_layer + 1
    return tower_layers(model.model.vision_tower)[:n]


def add_lorsu(layers: list[nn.Module]) -> int:
    """LoRSU's trainables on `layers`; returns the entries it updates (fc1 mask, masked LoRA rows, B)."""
    updated = 0
    for layer in layers:
        attn, fc1 = layer.self_attn, layer.mlp.fc1
        fc1.weight.requires_grad_(True)  # the full gradient is computed, then masked
        mask = torch.zeros(3, attn.num_heads, attn.head_dim, device=META)
        mask[:, : LORSU["heads"]] = 1.0
        targets = [(attn.q_proj, "weight"), (attn.k_proj, "weight"), (attn.v_proj, "weight")]
        attach_lora(targets, LORSU["rank"], LORSU["alpha"], row_mask=mask.reshape(-1))
        rows = 3 * LORSU["heads"] * attn.head_dim
        updated += int(fc1.weight.numel() * LORSU["sparsity"]) + rows * LORSU["rank"] + LORSU["rank"] * attn.embed_dim
    return updated


def add_peft(model: nn.Module, targets: list[str], rank: int) -> None:
    from peft import LoraConfig, inject_adapter_in_model

    with META:
        inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=rank, lora_dropout=0.0, target_modules=targets), model)
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name)


def train_all(module: nn.Module) -> None:
    module.requires_grad_(True)


def clip_step(batch: int, text_tower: bool) -> tuple[Callable[[], torch.Tensor], int, nn.Module]:
    with META:
        vision = CLIPVisionModelWithProjection(vision_config()).requires_grad_(False)
        text = None
        if text_tower:
            cfg = CLIPTextConfig(**CLIP_L_TEXT, max_position_embeddings=CONTEXT)
            cfg.projection_dim, cfg._attn_implementation = CLIP_L_336["projection_dim"], ATTENTION
            text = CLIPTextModelWithProjection(cfg).requires_grad_(False)
    updated = add_lorsu(tower_layers(vision))
    size = CLIP_L_336["image_size"]

    def step() -> torch.Tensor:
        image = F.normalize(vision(torch.empty(batch, 3, size, size, device=META)).image_embeds, dim=-1)
        if text is None:
            texts = torch.empty(batch, image.shape[-1], device=META)  # cached, already normalized
        else:
            ids = torch.zeros(batch, CONTEXT, dtype=torch.long, device=META)
            texts = F.normalize(text(input_ids=ids).text_embeds, dim=-1)
        logits = 100.0 * image @ texts.t()
        labels = torch.arange(batch, device=META)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2

    return step, updated, vision


def vlm_step(model: LlavaForConditionalGeneration, batch: int, prompt: int, answer: int) -> Callable[[], torch.Tensor]:
    """LLaVA's training forward: tower -> feature layer -> projector -> merged into the text embeddings -> LLM.

    The image features are concatenated after BOS rather than scattered into placeholder ids: transformers' merge
    reads the ids' values (impossible on meta) and costs no FLOPs either way."""
    cfg, size = model.config, model.config.vision_config.image_size

    def step() -> torch.Tensor:
        hidden = model.model.vision_tower(torch.empty(batch, 3, size, size, device=META), output_hidden_states=True)
        features = hidden.hidden_states[cfg.vision_feature_layer][:, 1:]  # "default": CLS dropped
        image = model.model.multi_modal_projector(features)
        text = model.get_input_embeddings()(torch.zeros(batch, prompt + answer, dtype=torch.long, device=META))
        embeds = torch.cat([text[:, :1], image, text[:, 1:]], dim=1)
        labels = torch.zeros(batch, embeds.shape[1], dtype=torch.long, device=META)  # no values on meta; FLOPs alike
        return model(inputs_embeds=embeds, labels=labels).loss

    return step


def measure(step: Callable[[], torch.Tensor], model: nn.Module, updated: int | None = None) -> dict[str, int]:
    """Forward and backward FLOPs of one step; `updated` defaults to the parameters that received a gradient."""
    loss, forward = count_flops(step)
    _, backward = count_flops(loss.backward)
    if updated is None:
        updated = sum(p.numel() for p in model.parameters() if p.grad is not None)
    return {"forward": forward, "backward": backward, "updated": updated}


def tower_lora(model: LlavaForConditionalGeneration) -> None:
    prefix = "model.vision_tower.encoder.layers"
    targets = [f"{prefix}.{i}.{t}" for i in range(len(used_layers(model))) for t in TOWER_TARGETS]
    add_peft(model, targets, VISION_LORA_RANK)


def llm_lora(model: LlavaForConditionalGeneration) -> None:
    n = model.config.text_config.num_hidden_layers
    add_peft(model, [f"model.language_model.layers.{i}.{t}" for i in range(n) for t in LLM_TARGETS], LLM_LORA_RANK)


VLM_METHODS: dict[str, Callable[[LlavaForConditionalGeneration], int | None]] = {
    "LoRSU-VLM": lambda m: add_lorsu(used_layers(m)),
    "LoRA-VLM": tower_lora,
    "LoRA-LLM": llm_lora,
    "LoRA-full": lambda m: add_peft(m, FULL_LORA, LLM_LORA_RANK),
    "F-FT tower": lambda m: train_all(m.model.vision_tower),
    "full VLM update": train_all,
}


def run(batch: int, prompt: int, answer: int) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    for name, text_tower in (("LoRSU-CLIP (cached text)", False), ("LoRSU-CLIP (text tower run)", True)):
        step, updated, vision = clip_step(batch, text_tower)
        rows[name] = measure(step, vision, updated)
    for name, setup in VLM_METHODS.items():
        model = llava()
        updated = setup(model)
        rows[name] = measure(vlm_step(model, batch, prompt, answer), model, updated)
    return rows


def table(rows: dict[str, dict[str, int]]) -> str:
    clip, vlm = rows["LoRSU-CLIP (cached text)"], rows["LoRSU-VLM"]
    lines = [
        "| method | updated params | forward TFLOPs | backward TFLOPs | TFLOPs/step | × LoRSU-CLIP | × LoRSU-VLM |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        total = r["forward"] + r["backward"]
        lines.append(
            f"| {name} | {r['updated'] / 1e6:,.1f} M | {r['forward'] / 1e12:.2f} | {r['backward'] / 1e12:.2f} | "
            f"{total / 1e12:.2f} | {total / (clip['forward'] + clip['backward']):.1f} | "
            f"{total / (vlm['forward'] + vlm['backward']):.2f} |"
        )
    return "\n".join(lines)


def verdict(rows: dict[str, dict[str, int]]) -> str:
    """Whether the paper's "over 25x compared to full VLM updates" holds, by which comparison, and why."""

    def total(name: str) -> int:
        return rows[name]["forward"] + rows[name]["backward"]

    full, clip, vlm = "full VLM update", "LoRSU-CLIP (cached text)", "LoRSU-VLM"
    vs_clip, vs_clip_text = total(full) / total(clip), total(full) / total("LoRSU-CLIP (text tower run)")
    forward_only = rows[full]["forward"] / rows[clip]["forward"]
    others = ("LoRA-VLM", "LoRA-LLM", "LoRA-full", "F-FT tower")
    spread = max(abs(total(n) / total(vlm) - 1) for n in others)
    held = min(vs_clip, vs_clip_text) > 25
    counted = (
        f"forward alone it is {forward_only:.1f}×, so the factor needs the full update's backward (input- and "
        f"weight-gradients of every layer, 2× its forward)"
        if forward_only <= 25
        else f"forward alone it is {forward_only:.1f}×"
    )
    return (
        f"Full VLM update / LoRSU-CLIP = {vs_clip:.1f}× ({vs_clip_text:.1f}× with the text tower run each step): the "
        f"paper's 'over 25×' is {'reproduced' if held else 'not reproduced'} by LoRSU with the CLIP loss, whose step "
        f"never touches the 7B LLM; {counted}. It grows with the text length (the LLM's share). Through the VLM the "
        f"saving is {total(full) / total(vlm):.2f}× (full VLM update / LoRSU-VLM): that step still runs the LLM's "
        f"forward and, to reach the tower, the input-gradient backward of every LLM layer, so a frozen LLM saves "
        f"only its weight-gradients, and LoRA-VLM, LoRA-LLM, LoRA-full and F-FT of the tower all cost within "
        f"{100 * spread:.0f} % of LoRSU-VLM."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--prompt-tokens", type=int, default=56)
    ap.add_argument("--answer-tokens", type=int, default=8)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = run(args.batch, args.prompt_tokens, args.answer_tokens)
    image_tokens = LLAVA["image_tokens"]
    print(
        f"LLaVA-1.5-7B geometry on meta: batch {args.batch}, {image_tokens} image + {args.prompt_tokens} prompt + "
        f"{args.answer_tokens} answer tokens ({image_tokens + args.prompt_tokens + args.answer_tokens} positions); "
        f"one step = forward + backward; counted in {time.perf_counter() - t0:.1f} s\n"
    )
    print(table(rows))
    print("\n" + verdict(rows))


if __name__ == "__main__":
    main()

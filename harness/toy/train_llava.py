"""Train the toy world's tiny LLaVA: the toy CLIP's vision tower (frozen), a projector and a small Llama
trained on control-domain questions in both prompt styles.

Training examples are built with the same task prompts, chat template and continuation split that the
engine scores, so the model learns exactly the format it is evaluated in.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    CLIPModel,
    CLIPProcessor,
    LlavaForConditionalGeneration,
)

from harness.adapters.llava import LlavaAdapter
from harness.eval.engine import split_continuation
from harness.tasks.toy_world import ToyWorldTask
from harness.toy.tiny_llava import llava_config, llava_processor, small_llama_config
from harness.toy.tokenizer import train_tokenizer
from harness.toy.train_clip import set_cosine_lr


@dataclass(frozen=True)
class LlavaSpec:
    text_width: int = 128
    text_layers: int = 3
    text_heads: int = 4
    text_mlp: int = 384
    train_items: int = 4000
    steps: int = 900
    # Answering with the option text is learnt in this budget; the letter-matching skill of the
    # "options" style needs far more steps for a Llama this small, so the toy model is text-style.
    styles: tuple[str, ...] = ("text",)
    batch_size: int = 48
    lr: float = 2e-3
    seed: int = 0


def build_llava(clip_dir: Path, spec: LlavaSpec, tmp: Path) -> LlavaAdapter:
    clip = CLIPModel.from_pretrained(clip_dir, dtype=torch.float32)
    image_processor = CLIPProcessor.from_pretrained(clip_dir).image_processor
    tok = train_tokenizer(tmp)
    text = small_llama_config(tok, spec.text_width, spec.text_mlp, spec.text_layers, spec.text_heads, max_positions=256)
    vision = clip.config.vision_config
    torch.manual_seed(spec.seed)
    model = LlavaForConditionalGeneration(llava_config(vision, text, tok))
    model.model.vision_tower.load_state_dict(clip.vision_model.state_dict())
    processor = llava_processor(image_processor, tok, vision.patch_size)
    return LlavaAdapter(model, processor, model_id="toy-llava")


def examples(adapter: LlavaAdapter, spec: LlavaSpec) -> list[tuple[Any, list[int], list[int]]]:
    """(item, context ids, answer ids) for control-domain train items, in the spec's prompt styles."""
    task = ToyWorldTask("control", "train")
    rng = random.Random(spec.seed)
    out = []
    for i, item in enumerate(task.items()):
        if i >= spec.train_items:
            break
        style = rng.choice(spec.styles)
        prompt = task.prompt(item, adapter.family, style)
        ctx, cont = split_continuation(
            adapter.encode,
            adapter.format_prompt(prompt.instruction),
            adapter.target_delimiter + prompt.continuations[item.answer],
        )
        out.append((item, ctx, cont))
    return out


def train_llava(clip_dir: Path, out_dir: Path, spec: LlavaSpec = LlavaSpec(), log: Any = print) -> dict[str, Any]:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        adapter = build_llava(Path(clip_dir), spec, Path(tmp))
    model = adapter.model
    task = ToyWorldTask("control", "train")
    data = examples(adapter, spec)
    pixels = adapter.processor.image_processor([task.load_image(it) for it, _, _ in data], return_tensors="pt")[
        "pixel_values"
    ]
    for p in model.model.vision_tower.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.01)
    g = torch.Generator().manual_seed(spec.seed)
    model.train()
    for step in range(spec.steps):
        set_cosine_lr(opt, step, spec.steps, spec.lr)
        idx = torch.randint(len(data), (spec.batch_size,), generator=g).tolist()
        width = max(len(data[i][1]) + len(data[i][2]) for i in idx)
        ids = torch.full((len(idx), width), adapter.pad_id)
        labels = torch.full((len(idx), width), -100)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            _, ctx, cont = data[i]
            seq = ctx + cont
            ids[r, : len(seq)] = torch.tensor(seq)
            labels[r, len(ctx) : len(seq)] = torch.tensor(cont)
            mask[r, : len(seq)] = 1
        loss = model(input_ids=ids, attention_mask=mask, pixel_values=pixels[idx], labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == spec.steps - 1:
            log(f"llava step {step:4d} loss {loss.item():.3f}")
    model.eval()
    out_dir = Path(out_dir)
    model.half().save_pretrained(out_dir, safe_serialization=True)
    adapter.processor.save_pretrained(out_dir)
    return {
        "spec": asdict(spec),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "trained_parameters": sum(p.numel() for p in params),
    }

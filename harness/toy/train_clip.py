"""Train the toy world's tiny CLIP (HF `CLIPModel`) contrastively on control-domain captions."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, PreTrainedTokenizerBase

from harness.tasks.toy_scenes import IMAGE_SIZE, class_names, render, scene
from harness.toy.tiny_llava import clip_image_processor
from harness.toy.tokenizer import train_tokenizer

EOT = "<eot>"


@dataclass(frozen=True)
class ClipSpec:
    image_size: int = IMAGE_SIZE
    patch_size: int = 8
    vision_width: int = 128
    vision_layers: int = 4
    vision_heads: int = 4
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    embed_dim: int = 64
    train_images: int = 3000
    steps: int = 400
    batch_size: int = 96
    lr: float = 2e-3
    seed: int = 0


def clip_tokenizer(tmp: Path) -> PreTrainedTokenizerBase:
    """The Llama-style spm tokenizer with an end-of-text token appended to every text (CLIP pools there)."""
    tok = train_tokenizer(tmp)
    tok.add_special_tokens({"eos_token": EOT})
    tok.add_bos_token, tok.add_eos_token = False, True
    tok.padding_side = "right"  # CLIP's text tower has absolute positions: pad after the text
    return tok


def build_clip(spec: ClipSpec, tok: PreTrainedTokenizerBase) -> CLIPModel:
    eot = tok.convert_tokens_to_ids(EOT)
    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=spec.text_width,
            intermediate_size=4 * spec.text_width,
            num_hidden_layers=spec.text_layers,
            num_attention_heads=spec.text_heads,
            max_position_embeddings=32,
            hidden_act="quick_gelu",
            eos_token_id=eot,
            bos_token_id=tok.bos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        vision_config=dict(
            hidden_size=spec.vision_width,
            intermediate_size=4 * spec.vision_width,
            num_hidden_layers=spec.vision_layers,
            num_attention_heads=spec.vision_heads,
            image_size=spec.image_size,
            patch_size=spec.patch_size,
            hidden_act="quick_gelu",
        ),
        projection_dim=spec.embed_dim,
    )
    torch.manual_seed(spec.seed)
    return CLIPModel(cfg)


def render_split(
    domain: str, split: str, n: int, proc: CLIPImageProcessor, seed: int = 0
) -> tuple[torch.Tensor, list[int]]:
    names = class_names()
    scenes = [scene(domain, split, i, seed) for i in range(n)]
    pixels = proc([render(s, seed) for s in scenes], return_tensors="pt")["pixel_values"]
    return pixels, [names.index(s.caption) for s in scenes]


@torch.no_grad()
def zero_shot_accuracy(
    model: CLIPModel, tok: PreTrainedTokenizerBase, pixels: torch.Tensor, labels: list[int]
) -> float:
    model.eval()
    text = tok(class_names(), padding=True, return_tensors="pt")
    t = F.normalize(model.get_text_features(**text).pooler_output, dim=-1)
    correct = 0
    for i in range(0, len(labels), 256):
        feats = model.get_image_features(pixel_values=pixels[i : i + 256]).pooler_output
        pred = (F.normalize(feats, dim=-1) @ t.T).argmax(-1)
        correct += int((pred == torch.tensor(labels[i : i + 256])).sum())
    return correct / len(labels)


def set_cosine_lr(opt: torch.optim.Optimizer, step: int, steps: int, peak: float, warmup: int = 50) -> None:
    """Linear warm-up, then cosine decay to zero (the toy models' schedule)."""
    lr = peak * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
    for group in opt.param_groups:
        group["lr"] = lr


def train_clip(out_dir: Path, spec: ClipSpec = ClipSpec(), log: Any = print) -> dict[str, Any]:
    """Train, save (fp16 safetensors + processor) and return metrics and timings."""
    t0 = time.perf_counter()
    torch.manual_seed(spec.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tok = clip_tokenizer(Path(tmp))
    proc = clip_image_processor(spec.image_size)
    model = build_clip(spec, tok)
    pixels, labels = render_split("control", "train", spec.train_images, proc, spec.seed)
    texts = tok(class_names(), padding=True, return_tensors="pt")
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=0.05)
    g = torch.Generator().manual_seed(spec.seed)
    model.train()
    for step in range(spec.steps):
        set_cosine_lr(opt, step, spec.steps, spec.lr)
        idx = torch.randint(len(labels), (spec.batch_size,), generator=g)
        lab = torch.tensor(labels)[idx]
        classes, inverse = lab.unique(return_inverse=True)
        out = model(
            input_ids=texts.input_ids[classes], attention_mask=texts.attention_mask[classes], pixel_values=pixels[idx]
        )
        # one text per distinct class in the batch: same-class images share their positive
        loss = F.cross_entropy(out.logits_per_image, inverse)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == spec.steps - 1:
            log(f"clip step {step:4d} loss {loss.item():.3f}")
    train_s = time.perf_counter() - t0
    metrics = {}
    for domain in ("control", "target"):
        px, lb = render_split(domain, "test", 800, proc, spec.seed)
        metrics[f"zero_shot_{domain}"] = zero_shot_accuracy(model, tok, px, lb)
    model.half().save_pretrained(out_dir, safe_serialization=True)
    CLIPProcessor(image_processor=proc, tokenizer=tok).save_pretrained(out_dir)
    return {
        "spec": asdict(spec),
        "metrics": metrics,
        "train_seconds": round(train_s, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }

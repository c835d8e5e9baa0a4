"""Build a tiny random-weight LLaVA (CLIP ViT tower + Llama) and a matching open_clip checkpoint.

Everything is saved with `save_pretrained` / `torch.save` and re-loaded through the same code paths as
real weights, so tests and the demo exercise the real loaders.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import (
    CLIPImageProcessor,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    PreTrainedTokenizerBase,
)

from harness.toy.tokenizer import train_tokenizer

# The LLaVA-1.5 conversation format: "USER: <image>\n{instruction} ASSISTANT:".
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'].upper() + ': ' }}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '<image>\n' }}{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] + ' ' }}{% endif %}{% endfor %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]


def clip_image_processor(size: int) -> CLIPImageProcessor:
    """OpenAI CLIP preprocessing at `size`: shortest side to `size` (bicubic), centre crop, OpenAI mean/std."""
    return CLIPImageProcessor(
        size={"shortest_edge": size},
        crop_size={"height": size, "width": size},
        do_center_crop=True,
        resample=3,
        image_mean=OPENAI_MEAN,
        image_std=OPENAI_STD,
    )


def llava_config(vision: CLIPVisionConfig, text: LlamaConfig, tok: PreTrainedTokenizerBase) -> LlavaConfig:
    """LLaVA-1.5's wiring of a CLIP tower and a Llama: GELU projector, penultimate layer, CLS dropped."""
    return LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        projector_hidden_act="gelu",
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
        pad_token_id=tok.pad_token_id,
    )


def llava_processor(
    image_processor: CLIPImageProcessor, tok: PreTrainedTokenizerBase, patch_size: int
) -> LlavaProcessor:
    """LLaVA-1.5's processor: one `<image>` token per patch plus CLS, the USER/ASSISTANT chat template."""
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,
        chat_template=LLAVA_CHAT_TEMPLATE,
    )


@dataclass(frozen=True)
class TinySpec:
    """Sizes of the tiny model; the defaults keep tests fast, the benchmark passes larger ones."""

    image_size: int = 32
    patch_size: int = 8
    vision_width: int = 32
    vision_layers: int = 3
    vision_heads: int = 2
    vision_mlp: int = 64
    text_width: int = 48
    text_layers: int = 2
    text_heads: int = 4
    text_kv_heads: int = 2
    text_mlp: int = 96
    vocab_size: int = 500
    seed: int = 0


def vision_config(spec: TinySpec) -> CLIPVisionConfig:
    return CLIPVisionConfig(
        hidden_size=spec.vision_width,
        intermediate_size=spec.vision_mlp,
        num_hidden_layers=spec.vision_layers,
        num_attention_heads=spec.vision_heads,
        image_size=spec.image_size,
        patch_size=spec.patch_size,
        hidden_act="quick_gelu",
        projection_dim=spec.vision_width,
        layer_norm_eps=1e-5,
    )


def small_llama_config(
    tok: PreTrainedTokenizerBase,
    width: int,
    mlp: int,
    layers: int,
    heads: int,
    kv_heads: int | None = None,
    max_positions: int = 512,
    **extra: object,
) -> LlamaConfig:
    """A Llama text config of the given geometry whose special ids come from `tok` (toy and tiny models)."""
    return LlamaConfig(
        vocab_size=len(tok),
        hidden_size=width,
        intermediate_size=mlp,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or heads,
        max_position_embeddings=max_positions,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **extra,
    )


def build_tiny_llava(out_dir: Path, spec: TinySpec = TinySpec()) -> Path:
    """Write a tiny LLaVA (model, tokenizer, processor) to `out_dir` and return it."""
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tok = train_tokenizer(Path(tmp), vocab_size=spec.vocab_size)
    text = small_llama_config(
        tok,
        spec.text_width,
        spec.text_mlp,
        spec.text_layers,
        spec.text_heads,
        spec.text_kv_heads,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
    )
    torch.manual_seed(spec.seed)
    model = LlavaForConditionalGeneration(llava_config(vision_config(spec), text, tok))
    spread_weights(model, spec.seed)
    processor = llava_processor(clip_image_processor(spec.image_size), tok, spec.patch_size)
    model.save_pretrained(out_dir, safe_serialization=True)
    processor.save_pretrained(out_dir)
    (out_dir / "tiny_spec.json").write_text(json.dumps(asdict(spec), indent=1))
    return out_dir


def spread_weights(model: torch.nn.Module, seed: int) -> None:
    """Random init with enough spread that log-probs differ visibly between options."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p.shape[-1] ** 0.5))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))


def build_tiny_open_clip_checkpoint(path: Path, spec: TinySpec = TinySpec(), seed: int = 1) -> Path:
    """An open_clip full-model state dict (`visual.` prefix) whose ViT matches the tiny LLaVA tower."""
    import open_clip

    torch.manual_seed(seed)
    model = open_clip.model.CLIP(
        embed_dim=spec.vision_width,
        vision_cfg=open_clip.model.CLIPVisionCfg(
            layers=spec.vision_layers,
            width=spec.vision_width,
            head_width=spec.vision_width // spec.vision_heads,
            patch_size=spec.patch_size,
            image_size=spec.image_size,
            mlp_ratio=spec.vision_mlp / spec.vision_width,
        ),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=16, vocab_size=64, width=32, heads=2, layers=1),
        quick_gelu=True,
    )
    spread_weights(model, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path

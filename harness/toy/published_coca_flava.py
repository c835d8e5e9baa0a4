"""The published configurations of CoCa (open_clip) and FLAVA (transformers) the `--vlm clip` tests are built from.

Sources: "OC:" = the installed open_clip package (3.3.0), `open_clip/model_configs/<name>.json`, with the
defaults of `open_clip.coca_model` / `open_clip.model` for keys the json leaves out; "T:" =
github.com/huggingface/transformers (`FlavaConfig` / `FlavaImageProcessor` defaults, which
huggingface.co/facebook/flava-full/config.json restates: 768 wide, 12 blocks, 12 heads, 3072 MLP, 224 px, patch
16, layer_norm_eps 1e-12, gelu). `derived` marks what no file states. Vocabularies: CoCa's is open_clip's own
CLIP BPE (`bpe_simple_vocab_16e6.txt.gz`, shipped with the package, 49408 ids); FLAVA's is bert-base-uncased's
WordPiece (flava-full's tokenizer; here llama.cpp's bert-bge file, 30522 ids).
"""

from __future__ import annotations

from typing import Any

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)  # OC: open_clip.constants.OPENAI_DATASET_MEAN
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)  # OC: open_clip.constants.OPENAI_DATASET_STD

COCA: dict[str, dict[str, Any]] = {
    "coca_ViT-B-32": {  # OC: model_configs/coca_ViT-B-32.json
        "embed_dim": 512,
        "vision_cfg": {
            "image_size": 224,
            "layers": 12,
            "width": 768,
            "patch_size": 32,
            "attentional_pool": True,
            "attn_pooler_heads": 8,
            "output_tokens": True,
        },
        "text_cfg": {
            "context_length": 76,
            "vocab_size": 49408,
            "width": 512,
            "heads": 8,
            "layers": 12,
            "embed_cls": True,
            "output_tokens": True,
        },
        "multimodal_cfg": {
            "context_length": 76,
            "vocab_size": 49408,
            "width": 512,
            "heads": 8,
            "layers": 12,
            "attn_pooler_heads": 8,
        },
        "custom_text": True,
    },
    "coca_ViT-L-14": {  # OC: model_configs/coca_ViT-L-14.json
        "embed_dim": 768,
        "vision_cfg": {
            "image_size": 224,
            "layers": 24,
            "width": 1024,
            "patch_size": 14,
            "attentional_pool": True,
            "attn_pooler_heads": 8,
            "output_tokens": True,
        },
        "text_cfg": {
            "context_length": 76,
            "vocab_size": 49408,
            "width": 768,
            "heads": 12,
            "layers": 12,
            "embed_cls": True,
            "output_tokens": True,
        },
        "multimodal_cfg": {
            "context_length": 76,
            "vocab_size": 49408,
            "width": 768,
            "heads": 12,
            "layers": 12,
            "attn_pooler_heads": 12,
        },
        "custom_text": True,
    },
}
# OC: open_clip.model.CLIPVisionCfg defaults the CoCa jsons leave out: 256 pooler queries, head width 64.
COCA_VISION_DEFAULTS = {"attn_pooler_queries": 256, "head_width": 64}

FLAVA: dict[str, Any] = {
    "repo": "facebook/flava-full",
    "config": {  # T: src/transformers/models/flava/configuration_flava.py (FlavaConfig and sub-config defaults)
        "model_type": "flava",
        "projection_dim": 768,
        "hidden_size": 768,
        "logit_scale_init_value": 2.6592,
        "image_config": {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "image_size": 224,
            "patch_size": 16,
            "num_channels": 3,
            "qkv_bias": True,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-12,
            "mask_token": True,
            "vocab_size": 8192,
        },
        "text_config": {
            "vocab_size": 30522,  # bert-base-uncased
            "type_vocab_size": 2,
            "max_position_embeddings": 512,
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-12,
            "pad_token_id": 0,
            "qkv_bias": True,
        },
        "multimodal_config": {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 6,
            "num_attention_heads": 12,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-12,
            "qkv_bias": True,
            "use_cls_token": True,
        },
    },
    # T: FlavaImageCodebookConfig defaults (facebook/flava-image-codebook config.json: hidden 256, 4 groups of 2
    # blocks, 8192 codes); flava-full is saved as FlavaForPreTraining, the codebook and heads beside `flava.`
    "image_codebook_config": {"hidden_size": 256, "num_groups": 4, "num_blocks_per_group": 2, "vocab_size": 8192},
    "architectures": ["FlavaForPreTraining"],
    "image_processor": {  # T: src/transformers/models/flava/image_processing_flava.py defaults
        "size": {"height": 224, "width": 224},
        "crop_size": {"height": 224, "width": 224},
        "resample": 3,  # bicubic
        "image_mean": OPENAI_MEAN,
        "image_std": OPENAI_STD,
    },
    # bert-base-uncased tokenizer_config.json: lower case, 512 positions; [PAD] 0, [CLS] 101, [SEP] 102
    "tokenizer": {"vocab": "bert-bge", "added": {}, "model_max_length": 512},
}

"""The published configuration of Gemma 4 E2B (`google/gemma-4-E2B-it`), each value with its public source.

Sources: "HF:" = the model's config.json on the hub (google/gemma-4-E2B-it/config.json, as copied verbatim in
EvilScript/taboo-cloud-gemma-4-E2B-it commit eda739b "Copy config.json from google/gemma-4-E2B-it" and transcribed
field by field in the public E2B config fixtures of Gemma4Swift's ConfigurationTests.swift and of several runtimes'
tests, which agree on every value below); "T:" = transformers 5.25's models/gemma4 files
(configuration_gemma4.py, whose docstrings name google/gemma-4-e2b-it as the reference checkpoint and whose
defaults are that checkpoint's; processing_gemma4.py; image_processing_gemma4.py); "GGUF:" = llama.cpp's
ggml-vocab-gemma-4.gguf (its tokenizer and chat template, `tokenizer.chat_template`, converted from the release).
"""

from __future__ import annotations

from typing import Any

SLIDING = "sliding_attention"
FULL = "full_attention"

# HF: text_config of google/gemma-4-E2B-it
TEXT_CONFIG: dict[str, Any] = {
    "model_type": "gemma4_text",
    "vocab_size": 262144,  # HF; GGUF: 262,144 tokens
    "hidden_size": 1536,  # HF
    "intermediate_size": 6144,  # HF
    "num_hidden_layers": 35,  # HF
    "num_attention_heads": 8,  # HF
    "num_key_value_heads": 1,  # HF (multi-query attention)
    "head_dim": 256,  # HF
    "global_head_dim": 512,  # HF: the full-attention layers' head size
    "hidden_activation": "gelu_pytorch_tanh",  # HF
    "max_position_embeddings": 131072,  # HF
    "rms_norm_eps": 1e-6,  # HF
    "sliding_window": 512,  # HF
    "layer_types": ([SLIDING] * 4 + [FULL]) * 7,  # HF: four sliding layers, then one full, seven times
    "final_logit_softcapping": 30.0,  # HF
    "hidden_size_per_layer_input": 256,  # HF: per-layer embeddings (PLE)
    "vocab_size_per_layer_input": 262144,  # HF
    "num_kv_shared_layers": 20,  # HF: the last 20 layers reuse the keys/values of earlier ones
    "use_double_wide_mlp": True,  # HF
    "attention_k_eq_v": False,  # HF
    "enable_moe_block": False,  # HF
    "attention_bias": False,  # HF
    "tie_word_embeddings": True,  # HF
    # T: modeling_gemma4.py Gemma4Model.forward: "Smaller Gemma models (use_bidirectional_attention=None) ... use
    # standard causal masking"; the 26B-A4B / 31B configs set "vision"
    "use_bidirectional_attention": None,
    "rope_parameters": {  # HF
        FULL: {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1000000.0},
        SLIDING: {"rope_type": "default", "rope_theta": 10000.0},
    },
    "pad_token_id": 0,  # HF; GGUF <pad>
    "eos_token_id": 1,  # HF; GGUF <eos>
    "bos_token_id": 2,  # HF; GGUF <bos>
}

# HF: vision_config of google/gemma-4-E2B-it (= T: Gemma4VisionConfig's defaults, documented for gemma-4-e2b-it)
VISION_CONFIG: dict[str, Any] = {
    "model_type": "gemma4_vision",
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 16,
    "num_attention_heads": 12,
    "num_key_value_heads": 12,
    "head_dim": 64,
    "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6,
    "patch_size": 16,
    "pooling_kernel_size": 3,
    "position_embedding_size": 10240,
    "rope_parameters": {"rope_type": "default", "rope_theta": 100.0},  # 2-D axial rotary (T: default_theta 100)
    "use_clipped_linears": True,
    "standardize": False,
}

# HF: the top level of config.json (special ids also GGUF's, checked in the tests)
CONFIG: dict[str, Any] = {
    "model_type": "gemma4",
    "text_config": TEXT_CONFIG,
    "vision_config": VISION_CONFIG,
    "image_token_id": 258880,  # <|image|>
    "boi_token_id": 255999,  # <|image>
    "eoi_token_id": 258882,  # <image|>
    "audio_token_id": 258881,  # <|audio|>
    "boa_token_id": 256000,  # <|audio>
    "eoa_token_index": 258883,  # <audio|>
    "video_token_id": 258884,  # <|video|>
    "tie_word_embeddings": True,
}

# T: image_processing_gemma4.py Gemma4ImageProcessor's class defaults (the release's processor_config.json):
# aspect-ratio preserving resize to at most max_soft_tokens * pooling_kernel_size**2 patches, pixels in [0, 1]
IMAGE_PROCESSOR: dict[str, Any] = {
    "class": "Gemma4ImageProcessor",
    "patch_size": 16,
    "max_soft_tokens": 280,
    "pooling_kernel_size": 3,
    "do_normalize": False,
    "do_rescale": True,
    "image_mean": [0.0, 0.0, 0.0],
    "image_std": [1.0, 1.0, 1.0],
}
# T: processing_gemma4.py Gemma4Processor defaults
PROCESSOR: dict[str, Any] = {"class": "Gemma4Processor", "image_seq_length": 280, "audio_seq_length": 750}

# GGUF: special tokens and the multimodal markers (every id checked against the file in the tests)
SPECIAL_IDS: dict[str, int] = {
    "<pad>": 0,
    "<eos>": 1,
    "<bos>": 2,
    "<unk>": 3,
    "<mask>": 4,
    "<|turn>": 105,
    "<turn|>": 106,
    "<|image>": 255999,
    "<|audio>": 256000,
    "<|image|>": 258880,
    "<|audio|>": 258881,
    "<image|>": 258882,
    "<audio|>": 258883,
    "<|video|>": 258884,
}

PUBLISHED_GEMMA: dict[str, dict[str, Any]] = {
    "gemma4": {
        "model": "google/gemma-4-E2B-it",
        "config": CONFIG,
        "image_processor": IMAGE_PROCESSOR,
        "processor": PROCESSOR,
        "tokenizer": {"vocab": "gemma-4", "special_ids": SPECIAL_IDS},
        # GGUF: the chat template's generation prompt with thinking off (enable_thinking false, its default)
        "generation_prompt": "<|turn>model\n<|channel>thought\n<channel|>",
    }
}

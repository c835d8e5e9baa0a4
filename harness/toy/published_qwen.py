"""The published configuration of Qwen2.5-VL (`Qwen/Qwen2.5-VL-7B-Instruct`) with its sources.

As `published_llava`: what the hub repository publishes (config.json, preprocessor_config.json, the tokenizer's
added tokens and roles, chat_template.json) at full size; `real_geometry_qwen` shrinks depth and width only.
"T:" is github.com/huggingface/transformers. Where a value cannot be kept at the shrunk size, `stand_ins` says
what is used instead and why. The original Qwen-VL (`Qwen/Qwen-VL-Chat`) needs remote code: not supported.
"""

from __future__ import annotations

from typing import Any

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
# chat_template.json of Qwen/Qwen2.5-VL-7B-Instruct (the same template as Qwen2-VL-7B-Instruct's)
QWEN_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: "
    "{% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% endif %}"
)
# tokenizer_config.json added_tokens_decoder entries marked "special": true (151657 <tool_call> to 151664
# <|file_sep|> are "special": false and never occur in a prompt; they are left out)
QWEN_VL_ADDED = {
    "<|object_ref_start|>": 151646,
    "<|object_ref_end|>": 151647,
    "<|box_start|>": 151648,
    "<|box_end|>": 151649,
    "<|quad_start|>": 151650,
    "<|quad_end|>": 151651,
    "<|vision_start|>": 151652,
    "<|vision_end|>": 151653,
    "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655,
    "<|video_pad|>": 151656,
}

QWEN2_5_VL: dict[str, Any] = {
    "repo": "Qwen/Qwen2.5-VL-7B-Instruct",
    "config": {
        "model_type": "qwen2_5_vl",
        "image_token_id": 151655,
        "video_token_id": 151656,
        "vision_start_token_id": 151652,
        "vision_end_token_id": 151653,
        "tie_word_embeddings": False,
        "text_config": {
            "vocab_size": 152064,
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
            "hidden_act": "silu",
            "max_position_embeddings": 128000,
            "max_window_layers": 28,
            "rms_norm_eps": 1e-6,
            "sliding_window": 32768,
            "use_sliding_window": False,
            "rope_theta": 1000000.0,
            "mrope_section": [16, 24, 24],  # rope_scaling {"type": "mrope", "mrope_section": [16, 24, 24]}
            "bos_token_id": 151643,
            "eos_token_id": 151645,
        },
        "vision_config": {
            "depth": 32,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "hidden_act": "silu",
            "in_channels": 3,
            "out_hidden_size": 3584,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "tokens_per_second": 2,
            "window_size": 112,
            "fullatt_block_indexes": [7, 15, 23, 31],
        },
    },
    "tokenizer": {
        "vocab": "qwen2",
        "added": QWEN_VL_ADDED,
        "bos": None,
        "eos": "<|im_end|>",
        "pad": "<|endoftext|>",
    },
    "image_processor": {
        "class": "Qwen2VLImageProcessor",
        "min_pixels": 3136,
        "max_pixels": 12845056,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": OPENAI_MEAN,
        "image_std": OPENAI_STD,
    },
    "processor": {"class": "Qwen2_5_VLProcessor"},
    "chat_template": QWEN_VL_TEMPLATE,
    # (width, height) -> image tokens, by the published resize rule (T:.../qwen2_vl/image_processing_qwen2_vl.py
    # smart_resize): each side rounded to a multiple of 28 px, scaled up to min_pixels; one token per 28x28 px.
    # 28x28 -> 56x56 (min_pixels = 56 * 56): 4; 224x224: 8 * 8; 500x375 -> 504x364: 18 * 13; 1024x899 ->
    # 1036x896: 37 * 32
    "image_tokens": {(28, 28): 4, (224, 224): 64, (500, 375): 234, (1024, 899): 1184},
    "example": {
        "question": "Describe this image.",
        "prompt": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n",
    },
    # the shrunk model cannot keep these: vision depth 4 of 32, so the full-attention blocks (the last of every 8)
    # become the last of every 2; M-RoPE splits half a head's rotary dims 16:24:24 of 64, kept as 2:3:3 of 8
    "stand_ins": {
        "fields": ["vision_config.fullatt_block_indexes", "text_config.mrope_section"],
        "fullatt_block_indexes": [1, 3],
        "mrope_section": [2, 3, 3],
    },
    "sources": {
        "config": "hub config.json of Qwen/Qwen2.5-VL-7B-Instruct (as quoted verbatim in public repositories found "
        "with the search tool; the hub itself was not reachable)",
        "defaults": "in_channels, hidden_act: T:src/transformers/models/qwen2_5_vl/configuration_qwen2_5_vl.py",
        "tokenizer": "tokenizer_config.json added_tokens_decoder (ids 151643-151664), eos <|im_end|>, pad "
        "<|endoftext|>, bos null",
        "image processor": "preprocessor_config.json (min_pixels 3136, max_pixels 12845056, patch 14, merge 2, "
        "temporal 2, OpenAI CLIP mean/std, Qwen2VLImageProcessor)",
        "chat template": "chat_template.json of the hub repository",
    },
}

PUBLISHED_QWEN = {"qwen2_5_vl": QWEN2_5_VL}

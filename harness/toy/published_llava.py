"""The published configurations of the LLaVA families the harness is tested against, with their sources.

Each entry holds what the hub repository publishes (config.json, preprocessor_config.json, processor_config.json,
the tokenizer's special tokens and the chat template) at full size; `harness/toy/real_geometry.py` shrinks depth
and width only. Values the hub files leave out take the transformers class default, and are marked so. "T:" is
github.com/huggingface/transformers. Where a value could not be read from a published file, `derived` says how it
was obtained; nothing is guessed silently.
"""

from __future__ import annotations

from typing import Any

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
# llava-hf/llava-1.5-7b-hf chat_template.json (also llava-v1.6-vicuna-7b-hf's, hub commit 30f8c4f)
LLAVA_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}"
    "{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)
# T:src/transformers/models/llava_onevision/convert_llava_onevision_weights_to_hf.py (also the processor_config of
# llava-onevision-qwen2-0.5b-si-hf, hub commit d1dac38)
ONEVISION_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n'}}{# Render all images first #}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}"
    "{{ content['text'] }}{% endgeneration %}{% endfor %}{% endif %}{{'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CLIP_L_336 = {  # CLIP ViT-L/14-336 as both LLaVA configs publish it (hidden_act: the CLIPVisionConfig default)
    "model_type": "clip_vision_model",
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "image_size": 336,
    "patch_size": 14,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
}
VICUNA_7B = {  # lmsys/vicuna-7b-v1.5 inside both LLaVA configs; sizes are LlamaConfig defaults (not in the file)
    "model_type": "llama",
    "vocab_size": 32064,
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
}
ANYRES_CLIP_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
SIGLIP_PINPOINTS = [[h, w] for h in range(384, 2305, 384) for w in range(384, 2305, 384)]

LLAVA: dict[str, Any] = {
    "repo": "llava-hf/llava-1.5-7b-hf",
    "config": {
        "model_type": "llava",
        "image_token_index": 32000,
        "pad_token_id": 32001,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "tie_word_embeddings": False,
        "text_config": VICUNA_7B,
        "vision_config": CLIP_L_336,
    },
    "tokenizer": {
        "vocab": "llama-spm",
        "added": {"<image>": 32000, "<pad>": 32001},
        "bos": "<s>",
        "eos": "</s>",
        "unk": "<unk>",
        "pad": "<pad>",
        "padding_side": "left",
    },
    "image_processor": {
        "class": "CLIPImageProcessor",
        "size": {"shortest_edge": 336},
        "crop_size": {"height": 336, "width": 336},
        "do_center_crop": True,
        "resample": 3,
        "image_mean": OPENAI_MEAN,
        "image_std": OPENAI_STD,
    },
    "processor": {
        "class": "LlavaProcessor",
        "patch_size": 14,
        "vision_feature_select_strategy": "default",
        "num_additional_image_tokens": 1,
        "image_token": "<image>",
    },
    "chat_template": LLAVA_TEMPLATE,
    "image_tokens": 576,  # (336 / 14)^2, CLS dropped ("default")
    # T:tests/models/llava/test_processor_llava.py::test_chat_template_dict (the image not yet expanded)
    "example": {
        "question": "What is shown in this image?",
        "prompt": "USER: <image>\nWhat is shown in this image? ASSISTANT:",
        "ids": [1, 3148, 1001, 29901, 29871, 32000, 29871, 13, 5618, 338, 4318, 297, 445, 1967, 29973, 319, 1799]
        + [9047, 13566, 29901],
    },
    "sources": {
        "config, preprocessor, processor, tokenizer, chat template": "the hub snapshot of llava-hf/llava-1.5-7b-hf "
        "(tokenizer_config.json at hub commit 6b71355, generation_config.json at 79477a6)",
        "image_seq_length 576": "T:src/transformers/models/llava/configuration_llava.py",
    },
}

LLAVA_NEXT: dict[str, Any] = {
    "repo": "llava-hf/llava-v1.6-vicuna-7b-hf",
    "config": {
        "model_type": "llava_next",
        "image_token_index": 32000,
        "image_grid_pinpoints": ANYRES_CLIP_PINPOINTS,
        "projector_hidden_act": "gelu",
        "use_image_newline_parameter": True,
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "tie_word_embeddings": False,
        "text_config": {**VICUNA_7B, "pad_token_id": 0},
        "vision_config": CLIP_L_336,
    },
    "tokenizer": {  # added_tokens.json is 23 bytes: {"<image>": 32000} alone; pad is id 0 (text_config, generation)
        "vocab": "llama-spm",
        "added": {"<image>": 32000},
        "bos": "<s>",
        "eos": "</s>",
        "unk": "<unk>",
        "pad": "<unk>",
        "padding_side": "left",
    },
    "image_processor": {
        "class": "LlavaNextImageProcessor",
        "size": {"shortest_edge": 336},
        "crop_size": {"height": 336, "width": 336},
        "do_center_crop": True,
        "do_pad": True,
        "resample": 3,
        "image_mean": OPENAI_MEAN,
        "image_std": OPENAI_STD,
        "image_grid_pinpoints": ANYRES_CLIP_PINPOINTS,
    },
    "processor": {
        "class": "LlavaNextProcessor",
        "patch_size": 14,
        "vision_feature_select_strategy": "default",
        "num_additional_image_tokens": 1,
        "image_token": "<image>",
    },
    "chat_template": LLAVA_TEMPLATE,
    # 576 base features + the unpadded grid with one newline per row; an 899x1024 (h x w) image takes the 672x672
    # pinpoint: 48x48 patches, unpadded to 42x48, 576 + 42 * 49 (T:.../llava_next/processing_llava_next.py)
    "image_tokens": {(1024, 899): 2634},
    "example": {
        "question": "What is shown in this image?",
        "prompt": "USER: <image>\nWhat is shown in this image? ASSISTANT:",
    },
    "sources": {
        "config": "huggingface.co/llava-hf/llava-v1.6-vicuna-7b-hf config.json (blame at hub commit 78d9aec)",
        "chat template": "hub chat_template.json at 30f8c4f; rendered in T:tests/models/llava_next/"
        "test_processor_llava_next.py::test_chat_template",
        "tokenizer": "added_tokens.json (23 B) and pad 0 in config/generation_config.json; tokenizer_config.json "
        "itself was not found: its structure is taken as llava-1.5's (same Vicuna tokenizer)",
        "image processor": "derived: LlavaNextImageProcessor of openai/clip-vit-large-patch14-336 with the config's "
        "pinpoints, as T:.../llava_next/convert_llava_next_weights_to_hf.py builds it",
        "num_additional_image_tokens": "derived: 1 (CLS) makes the processor's count equal the model's features",
    },
}

LLAVA_ONEVISION: dict[str, Any] = {
    "repo": "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
    "config": {
        "model_type": "llava_onevision",
        "image_token_index": 151646,
        "video_token_index": 151647,
        "image_grid_pinpoints": SIGLIP_PINPOINTS,
        "projector_hidden_act": "gelu",
        "use_image_newline_parameter": True,
        "vision_aspect_ratio": "anyres_max_9",
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "text_config": {  # Qwen/Qwen2-0.5B-Instruct (its tied embeddings tie the VLM's output layer)
            "model_type": "qwen2",
            "vocab_size": 152000,
            "hidden_size": 896,
            "intermediate_size": 4864,
            "num_hidden_layers": 24,
            "num_attention_heads": 14,
            "num_key_value_heads": 2,
            "max_position_embeddings": 32768,
            "rope_theta": 1000000.0,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": True,
            "bos_token_id": 151643,
            "eos_token_id": 151645,
        },
        "vision_config": {  # SigLIP-SO400M/14-384 without its last block
            "model_type": "siglip_vision_model",
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_hidden_layers": 26,
            "num_attention_heads": 16,
            "image_size": 384,
            "patch_size": 14,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
            "vision_use_head": False,
        },
    },
    "tokenizer": {
        "vocab": "qwen2",
        "added": {"<image>": 151646, "<video>": 151647},
        "eos": "<|im_end|>",
        "pad": "<|endoftext|>",
        "padding_side": "left",
    },
    "image_processor": {
        "class": "LlavaOnevisionImageProcessor",
        "size": {"height": 384, "width": 384},
        "do_pad": True,
        "resample": 3,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "image_grid_pinpoints": SIGLIP_PINPOINTS,
    },
    "processor": {
        "class": "LlavaOnevisionProcessor",
        "num_image_tokens": 729,
        "vision_feature_select_strategy": "full",
        "image_token": "<image>",
        "video_token": "<video>",
    },
    "chat_template": ONEVISION_TEMPLATE,
    "image_tokens": {(1024, 899): 6551},  # 71 x 81 unpadded + 71 newlines + 729 base
    # T:tests/models/llava_onevision/test_modeling_llava_onevision.py: this prompt with the 899x1024 (h x w) image
    # is 6567 ids long
    "example": {
        "question": "What is shown in this image?",
        "prompt": "<|im_start|>user\n<image>\nWhat is shown in this image?<|im_end|>\n<|im_start|>assistant\n",
        "sized_prompt": "user\n<image>\nWhat do you see in this image?<|im_end|>\n<|im_start|>assistant\n",
        "sized_prompt_ids": 6567,
        # T:tests/models/llava_onevision/test_processor_llava_onevision.py::test_chat_template_dict (Qwen2 ids)
        "text": "<|im_start|>user <video>\nWhat is shown in this video?<|im_end|><|im_start|>assistant\n",
        "text_ids": [151644, 872, 220, 151647, 198, 3838, 374, 6839, 304, 419, 2766, 30, 151645, 151644, 77091, 198],
    },
    "sources": {
        "config": "derived: T:.../llava_onevision/convert_llava_onevision_weights_to_hf.py and the "
        "LlavaOnevisionConfig defaults; the hub config.json itself was not read",
        "text config": "Qwen/Qwen2-0.5B-Instruct config.json (hub duplicates naming it as _name_or_path); "
        "vocab_size 152000 derived: the conversion resizes 151646 + 2 tokens to a multiple of 64",
        "tokenizer": "added_tokens.json at hub commit a70741f (<image> 151646); <video> 151647: the config default",
        "generation": "generation_config.json at bcef42b (bos 151643, eos 151645)",
        "image processor": "derived: SigLIP-so400m-384 preprocessing + LlavaOnevisionImageProcessor defaults",
    },
}

PUBLISHED_LLAVA = {"llava": LLAVA, "llava_next": LLAVA_NEXT, "llava_onevision": LLAVA_ONEVISION}

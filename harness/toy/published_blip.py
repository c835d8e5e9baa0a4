"""The published configurations of BLIP-2, InstructBLIP and MiniGPT-v2 the harness is tested against, with sources.

As in `published_llava`: full-size values as the hub (or the MiniGPT-v2 release) publishes them; "T:" is
github.com/huggingface/transformers; `derived` marks what no published file states. One part cannot be had
offline and is stood in for, named in `stand_ins`: OPT's id numbering (OPT renumbers the GPT-2 byte-level BPE in
fairseq-dictionary order; the test model keeps GPT-2's ids with OPT's special-token conventions). InstructBLIP's
Q-Former tokenizer is bert-base-uncased's own WordPiece vocabulary (llama.cpp's bert-bge file).
"""

from __future__ import annotations

from typing import Any

from harness.toy.published_llava import OPENAI_MEAN, OPENAI_STD

EVA_VIT_G = {  # Blip2VisionConfig defaults: EVA ViT-g/14 at 224 px, 39 blocks
    "hidden_size": 1408,
    "intermediate_size": 6144,
    "num_hidden_layers": 39,
    "num_attention_heads": 16,
    "image_size": 224,
    "patch_size": 14,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-6,
    "qkv_bias": True,
}
QFORMER = {  # Blip2QFormerConfig defaults (BERT-base sized)
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "cross_attention_frequency": 2,
    "max_position_embeddings": 512,
}
BLIP_IMAGE_PROCESSOR = {
    "class": "BlipImageProcessor",
    "size": {"height": 224, "width": 224},
    "resample": 3,
    "image_mean": OPENAI_MEAN,
    "image_std": OPENAI_STD,
}

BLIP2: dict[str, Any] = {
    "repo": "Salesforce/blip2-opt-2.7b",
    "config": {
        "model_type": "blip-2",
        "image_token_index": 50265,
        "num_query_tokens": 32,
        "use_decoder_only_language_model": True,
        "text_config": {  # facebook/opt-2.7b; vocab 50304 after the 2024 <image> update
            "model_type": "opt",
            "vocab_size": 50304,
            "hidden_size": 2560,
            "ffn_dim": 10240,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "word_embed_proj_dim": 2560,
            "max_position_embeddings": 2048,
            "do_layer_norm_before": True,
            "bos_token_id": 2,
            "pad_token_id": 1,
            "eos_token_id": 50118,  # "\n": BLIP-2 stops captions at a newline
            "prefix": "</s>",
        },
        "vision_config": EVA_VIT_G,
        "qformer_config": {**QFORMER, "vocab_size": 30522},
    },
    "tokenizer": {  # GPT2Tokenizer of facebook/opt-2.7b: BOS </s> (2) prepended, <pad> 1, <image> 50265
        "vocab": "gpt-2",
        "added": {"<image>": 50265},
        "bos": "</s>",
        "eos": "</s>",
        "unk": "</s>",
        "pad": "<pad>",
        "padding_side": "left",
        "newline_eos": True,
    },
    "image_processor": BLIP_IMAGE_PROCESSOR,
    "processor": {"class": "Blip2Processor", "num_query_tokens": 32},
    "chat_template": None,  # plain prompts: "Question: {} Answer:"
    "image_tokens": 32,  # the query tokens, placed before BOS
    # T:tests/models/blip_2/test_modeling_blip_2.py::test_inference_opt: OPT ids of this prompt after the 32
    # <image> tokens; the test model's GPT-2 ids differ, its segmentation (9 tokens after BOS) does not
    "example": {
        "prompt": "Question: which city is this? Answer:",
        "opt_ids": [2, 45641, 35, 61, 343, 16, 42, 116, 31652, 35],
        "tokens": ["</s>", "Question", ":", "Ġwhich", "Ġcity", "Ġis", "Ġthis", "?", "ĠAnswer", ":"],
    },
    "stand_ins": {
        "added": {"</s>": 50257, "<pad>": 50258, "<image>": 50259},
        "fields": [
            "image_token_index",
            "text_config.bos_token_id",
            "text_config.pad_token_id",
            "text_config.eos_token_id",
        ],
        "token ids": "GPT-2's byte-level BPE (the vocabulary OPT renumbers); </s>, <pad> and <image> are added after "
        "it (50257-50259), so BOS is prepended and the query tokens precede it as in the release",
    },
    "sources": {
        "config": "huggingface.co/Salesforce/blip2-opt-2.7b config.json (blame at hub commit ec3c346)",
        "text config": "huggingface.co/facebook/opt-2.7b config.json (hub commit 4153458)",
        "preprocessor": "preprocessor_config.json as duplicated from the hub repo (AshishFugare/blipImprov1)",
        "processor": "processor_config.json {num_query_tokens: 32} (hub duplicates); the official file not read",
    },
}

INSTRUCTBLIP: dict[str, Any] = {
    "repo": "Salesforce/instructblip-vicuna-7b",
    "config": {
        "model_type": "instructblip",
        "image_token_index": 32001,
        "num_query_tokens": 32,
        "use_decoder_only_language_model": True,
        "text_config": {
            "model_type": "llama",
            "vocab_size": 32064,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "max_position_embeddings": 2048,
            "rms_norm_eps": 1e-6,
            "rope_theta": 10000.0,
            "tie_word_embeddings": False,
            "pad_token_id": 32000,
        },
        "vision_config": EVA_VIT_G,
        "qformer_config": {**QFORMER, "vocab_size": 30523},  # bert-base-uncased + [DEC]
    },
    "tokenizer": {  # LlamaTokenizer with bos = eos = unk = </s> (T:.../convert_instructblip_original_to_pytorch.py)
        "vocab": "llama-spm",
        "added": {"[PAD]": 32000, "<image>": 32001, "<video>": 32002},
        "bos": "</s>",
        "eos": "</s>",
        "unk": "</s>",
        "pad": "[PAD]",
        "padding_side": "left",
    },
    "image_processor": BLIP_IMAGE_PROCESSOR,
    "processor": {"class": "InstructBlipProcessor", "num_query_tokens": 32},
    "chat_template": None,
    "image_tokens": 32,
    # T:tests/models/instructblip/test_modeling_instructblip.py::test_inference_vicuna_7b (after 32 x 32001)
    "example": {"prompt": "What is unusual about this image?", "ids": [2, 1724, 338, 22910, 1048, 445, 1967, 29973]},
    # google-bert/bert-base-uncased with [DEC] added as BOS (30522), truncated on the left
    # (T:src/transformers/models/instructblip/convert_instructblip_original_to_pytorch.py); BERT's 512 positions
    # (bert-base-uncased tokenizer_config.json model_max_length). The vocabulary: llama.cpp's bert-bge file.
    "qformer_tokenizer": {
        "vocab": "bert-bge",
        "added": {"[DEC]": 30522},
        "bos": "[DEC]",
        "truncation_side": "left",
        "model_max_length": 512,
    },
    # the example prompt in bert-base-uncased's vocab.txt numbering, as the Q-Former reads it ([CLS] 101, [SEP] 102)
    "qformer_example": {
        "prompt": "What is unusual about this image?",
        "ids": [101, 2054, 2003, 5866, 2055, 2023, 3746, 1029, 102],
    },
    "sources": {
        "config": "huggingface.co/Salesforce/instructblip-vicuna-7b config.json (hub commit 92cb457)",
        "tokenizer": "tokenizer_config.json (b5bc015), special_tokens_map.json (c344252), added_tokens.json "
        "(4fd0ddb) of the hub repo",
        "preprocessor, processor": "preprocessor_config.json (main), processor_config.json (4fd0ddb)",
    },
}

MINIGPTV2: dict[str, Any] = {
    "repo": "Vision-CAIR/MiniGPT-4 (MiniGPT-v2) with meta-llama/Llama-2-7b-chat-hf",
    "config": {
        "text_config": {
            "model_type": "llama",
            "vocab_size": 32000,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5,
            "tie_word_embeddings": False,
        },
        "vision_config": {**EVA_VIT_G, "image_size": 448},  # the released EVA file is at 224 px (positions resized)
        "eva_image_size": 224,
        "lora_r": 64,
        "lora_alpha": 16,
        "merge": 4,  # 4 neighbouring patch features -> one token: 1024 / 4 = 256
    },
    "tokenizer": {"vocab": "llama-spm", "added": {}, "bos": "<s>", "eos": "</s>", "unk": "<unk>"},
    "chat_template": None,  # "[INST] <Img><ImageHere></Img> {} [/INST]" after "<s>"
    "image_tokens": 256,
    # shared/reference/minigptv2.md §1: "<s>[INST] <Img>" tokenized with special tokens gives a double BOS
    "example": {"prompt_prefix_ids": [1, 1, 518, 25580, 29962]},
    "sources": {
        "model": "Vision-CAIR/MiniGPT-4 eval_configs/minigptv2_eval.yaml, minigpt4/configs/models/minigpt_v2.yaml, "
        "minigpt4/models/minigpt_v2.py",
        "text config": "meta-llama/Llama-2-7b-chat-hf config.json (hub duplicates; rms_norm_eps is 1e-5 or 1e-6 by "
        "revision, the release's own conversion unknown)",
    },
}

PUBLISHED_BLIP = {"blip2": BLIP2, "instructblip": INSTRUCTBLIP, "minigptv2": MINIGPTV2}

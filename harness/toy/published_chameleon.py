"""The published configuration of Chameleon-7B (`facebook/chameleon-7b`, transformers
`ChameleonForConditionalGeneration`) with its sources, at full size; `real_geometry_chameleon` shrinks it.

"T:" is github.com/huggingface/transformers. The hub repository is gated and its files are not in any public
mirror the harness can read, so every value comes from the code that wrote them: T:.../chameleon/
convert_chameleon_weights_to_hf.py (the script that made the hub repository: VOCAB_SIZE, max_position_embeddings,
the sep and pad ids, `<image>` replacing `<reserved08707>`, `ChameleonImageProcessor()` and `ChameleonProcessor()`
with their defaults) and the class defaults it relies on (T:.../chameleon/configuration_chameleon.py, whose
docstring names them "chameleon-7b style"; image_processing_chameleon.py; processing_chameleon.py).
The token ids of the image markers come from facebookresearch/chameleon's `chameleon/inference/vocab.py` (the
names: `<racm3:break>` begins an image, `<eoss>` ends it, `<reserved08706>` ends a turn) and the ids two
independent Chameleon fine-tuning codebases hard-code for those names (Alpha-VLLM/Lumina-mGPT's item processor:
`<racm3:break>` 8197, `<eoss>` 8196; medmax's constants: image codes 0-8191 at ids 4-8195, BOS 0, PAD 1, EOS 2).
Chameleon's text vocabulary itself is not public offline: `real_geometry_chameleon` trains a stand-in and puts
these tokens at these ids.
"""

from __future__ import annotations

from typing import Any

N_IMAGE_CODES = 8192  # the VQ-VAE codebook (vq_config.num_embeddings)
FIRST_IMAGE_ID = 4  # code c is the BPE token IMGIMG<c in letters A-J>Z at id 4 + c
SEP_ID = 8710  # <reserved08706>: the converter's `tokenizer.sep_token_id = 8710`
IMAGE_ID = 8711  # <image>: the converter renames <reserved08707>, which follows <reserved08706>

VQ_7B = {  # T:configuration_chameleon.py ChameleonVQVAEConfig defaults (the converter reads tokenizer/vqgan.yaml)
    "model_type": "chameleon_vqgan",
    "embed_dim": 256,
    "num_embeddings": N_IMAGE_CODES,
    "double_latent": False,
    "latent_channels": 256,
    "resolution": 512,
    "in_channels": 3,
    "base_channels": 128,
    "channel_multiplier": [1, 1, 2, 2, 4],  # four 2x downsamplings: 512 px -> 32 x 32 = 1024 codes
    "num_res_blocks": 2,
    "attn_resolutions": None,
    "dropout": 0.0,
    "attn_type": "vanilla",
}

CHAMELEON: dict[str, Any] = {
    "repo": "facebook/chameleon-7b",
    "config": {
        "model_type": "chameleon",
        "vocab_size": 65536,  # converter VOCAB_SIZE
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "hidden_act": "silu",
        "max_position_embeddings": 4096,  # converter: rope_theta 10000 and chameleon_version 1
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "attention_bias": False,
        "mlp_bias": False,
        "model_parallel_size": 1,  # the class default; 7B is one shard (converter NUM_SHARDS)
        "swin_norm": False,  # the class default; the converter reads it from params.json (not public): unverified
        "tie_word_embeddings": False,
        "vq_config": VQ_7B,
    },
    "tokenizer": {
        "vocab": "stand-in",
        "added": {
            "<s>": 0,
            "<pad>": 1,
            "</s>": 2,
            "<unk>": 3,
            "<eoss>": 8196,
            "<racm3:break>": 8197,
            "<reserved08706>": SEP_ID,
            "<image>": IMAGE_ID,
        },
        "bos": "<s>",
        "eos": "</s>",
        "unk": "<unk>",
        "pad": "<pad>",  # converter: pad_token_id = 1
        "sep": "<reserved08706>",  # converter: sep_token_id = 8710, appended after the prompt in chat mode
    },
    "image_processor": {  # T:image_processing_chameleon.py class defaults (converter: ChameleonImageProcessor())
        "class": "ChameleonImageProcessor",
        "size": {"shortest_edge": 512},
        "crop_size": {"height": 512, "width": 512},
        "do_center_crop": True,
        "resample": 1,  # PIL LANCZOS
        "rescale_factor": 0.0078,
        "image_mean": [1.0, 1.0, 1.0],
        "image_std": [1.0, 1.0, 1.0],
    },
    "processor": {  # T:processing_chameleon.py defaults (converter: ChameleonProcessor(image_processor, tokenizer))
        "class": "ChameleonProcessor",
        "image_seq_length": 1024,
        "image_token": "<image>",
    },
    "image_tokens": 1024,  # (512 / 16)^2 codes, between <racm3:break> and <eoss>
    # T:src/transformers/models/chameleon/convert_chameleon_weights_to_hf.py: the converter's test prompt
    "example": {"prompt": "I'm very intrigued by this work of art:<image>Please tell me about the artist."},
    "sources": {
        "config sizes, vocab_size, max_position_embeddings, sep 8710, pad 1, <image> = <reserved08707>": "T:src/"
        "transformers/models/chameleon/convert_chameleon_weights_to_hf.py and configuration_chameleon.py",
        "vq_config": "T:src/transformers/models/chameleon/configuration_chameleon.py (ChameleonVQVAEConfig)",
        "image processor": "T:src/transformers/models/chameleon/image_processing_chameleon.py",
        "processor (image_seq_length 1024, <racm3:break>/<eoss> around the image, sep appended)": "T:src/"
        "transformers/models/chameleon/processing_chameleon.py",
        "marker names": "facebookresearch/chameleon chameleon/inference/vocab.py (VocabInfo)",
        "marker ids 8196/8197, image codes at 4-8195, BOS 0 / PAD 1 / EOS 2": "Alpha-VLLM/Lumina-mGPT "
        "(FlexARItemProcessor) and medmax's tokenization constants",
    },
}

"""The published configuration of Qwen3-VL (`Qwen/Qwen3-VL-8B-Instruct`) with its sources (see `published_qwen`).

Qwen3-VL's ViT differs from Qwen2.5-VL's: 16-px patches (32-px merged tokens), a learned position table
(`num_position_embeddings`, bilinearly resampled per image) beside the 2-D rotary, full attention in every block,
a plain GELU MLP, and DeepStack: the features of blocks 8, 16 and 24 go through their own mergers and are added
to the first LLM layers' hidden states at the image positions. The LLM is Qwen3 (q/k norms, head_dim 128) with
interleaved M-RoPE.
"""

from __future__ import annotations

from typing import Any

from harness.toy.published_qwen import QWEN_VL_ADDED

# chat_template.json of Qwen/Qwen3-VL-8B-Instruct: no default system turn, images before the text
QWEN3_VL_TEMPLATE = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' }}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- for message in messages %}
    {%- if message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content_item in message.content %}
                {%- if 'text' in content_item %}
                    {{- content_item.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and message.content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}"""  # noqa: E501

QWEN3_VL: dict[str, Any] = {
    "repo": "Qwen/Qwen3-VL-8B-Instruct",
    "config": {
        "model_type": "qwen3_vl",
        "image_token_id": 151655,
        "video_token_id": 151656,
        "vision_start_token_id": 151652,
        "vision_end_token_id": 151653,
        "tie_word_embeddings": False,
        "text_config": {
            "vocab_size": 151936,
            "hidden_size": 4096,
            "intermediate_size": 12288,
            "num_hidden_layers": 36,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "head_dim": 128,
            "hidden_act": "silu",
            "attention_bias": False,
            "max_position_embeddings": 262144,
            "rms_norm_eps": 1e-6,
            "rope_theta": 5000000,
            "mrope_section": [24, 20, 20],  # rope_scaling {"mrope_interleaved": true, "mrope_section": [24, 20, 20]}
            "mrope_interleaved": True,
            "bos_token_id": 151643,
            "eos_token_id": 151645,
        },
        "vision_config": {
            "depth": 27,
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_heads": 16,
            "hidden_act": "gelu_pytorch_tanh",
            "in_channels": 3,
            "out_hidden_size": 4096,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 2304,
            "deepstack_visual_indexes": [8, 16, 24],
        },
    },
    "tokenizer": {"vocab": "qwen2", "added": QWEN_VL_ADDED, "bos": None, "eos": "<|im_end|>", "pad": "<|endoftext|>"},
    "image_processor": {
        "class": "Qwen2VLImageProcessor",
        "size": {"shortest_edge": 65536, "longest_edge": 16777216},
        "patch_size": 16,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    },
    "processor": {"class": "Qwen3VLProcessor"},
    "chat_template": QWEN3_VL_TEMPLATE,
    # (width, height) -> image tokens by smart_resize with 32-px merged patches and min_pixels 65536 (256 x 256):
    # 224x224 -> 256x256: 8 * 8; 500x375 -> 512x384: 16 * 12; 1024x899 -> 1024x896: 32 * 28
    "image_tokens": {(224, 224): 64, (500, 375): 192, (1024, 899): 896},
    "example": {
        "question": "Describe this image.",
        "prompt": "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n"
        "<|im_start|>assistant\n",
    },
    # vision depth 4 of 27: the DeepStack blocks 8, 16, 24 (about a third, two thirds and the end) become 1, 2, 3
    "stand_ins": {"fields": ["vision_config.deepstack_visual_indexes"], "deepstack_visual_indexes": [1, 2, 3]},
    "sources": {
        "config": "hub config.json of Qwen/Qwen3-VL-8B-Instruct, as quoted verbatim by several public repositories "
        "found with the search tool (the hub was not reachable)",
        "tokenizer": "the Qwen2.5-VL added tokens at the same ids (Qwen3-VL adds <tool_response>, <think> etc. from "
        "151665 on, all non-special, left out); eos <|im_end|>, pad <|endoftext|>",
        "image processor": "preprocessor_config.json (size shortest_edge 65536, longest_edge 16777216, patch 16, "
        "merge 2, temporal 2, mean/std 0.5, Qwen2VLImageProcessorFast)",
        "chat template": "chat_template.json as quoted in a public repository's chat-template test; not compared "
        "byte for byte with the hub file",
    },
}

PUBLISHED_QWEN3 = {"qwen3_vl": QWEN3_VL}

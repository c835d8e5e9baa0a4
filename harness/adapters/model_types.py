"""The `model_type` a `--model` directory's config.json must name, per family: read by each adapter's load
and by `harness eval`'s checks before any model loads (so this module imports nothing)."""

MODEL_TYPES: dict[str, tuple[str, ...]] = {
    "llava": ("llava",),
    "llava_next": ("llava_next",),
    "llava_onevision": ("llava_onevision",),
    "blip2": ("blip-2",),
    "instructblip": ("instructblip",),
    "minigptv2": ("llama",),  # --model is the Llama-2-chat directory
    "gemma4": ("gemma4",),
    "qwen2_5_vl": ("qwen2_5_vl",),
    "qwen3_vl": ("qwen3_vl",),
    "chameleon": ("chameleon",),
    "clip": ("clip", "siglip", "flava"),
}

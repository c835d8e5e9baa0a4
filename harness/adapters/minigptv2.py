"""MiniGPT-v2 behind the engine's adapter contract (`--vlm minigptv2`).

Prompt `<s>[INST] <Img><ImageHere></Img> {instruction} [/INST]` with the original ids: the tokenizer's BOS
plus the literal `<s>` (a double BOS), then each text chunk sentencepiece-encoded on its own with the
`▁` word prefix (`▁[`), image embeddings spliced at `<ImageHere>` (shared/reference/minigptv2.md §1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
import transformers
from PIL import Image
from transformers import AutoTokenizer, Blip2VisionConfig, LlamaConfig, LlamaForCausalLM

from harness.adapters.attention import DEFAULT as DEFAULT_ATTENTION
from harness.adapters.attention import check_attn_implementation, model_attn_implementation
from harness.adapters.base import Prefix, VLMAdapter, resolve_device
from harness.adapters.hf_cache import extend_from_prefix, greedy_config, left_pad, positions_from_mask, right_pad
from harness.adapters.hf_loading import check_model_dir, load_complete
from harness.adapters.minigptv2_loading import load_eva_vit_g, load_stage_checkpoint
from harness.adapters.minigptv2_model import IMAGE_PLACEHOLDER, MERGE, MiniGPTv2, blank_vision_tower, eva_vit_g_config
from harness.adapters.model_types import MODEL_TYPES
from harness.adapters.tokenizer_fit import check_tokenizer_fits
from harness.adapters.weights import resolve_model_dir, sha256_file, weights_fingerprint
from harness.errors import InvalidInput

PROMPT = "<s>[INST] <Img><ImageHere></Img> {instruction} [/INST]"
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
DTYPES = ("float32", "bfloat16", "float16", "original")
VISION_CONFIG_FILE = "minigptv2_vision.json"


class MiniGPTv2Adapter(VLMAdapter):
    family = "minigptv2"

    def __init__(
        self,
        model: MiniGPTv2,
        tokenizer: Any,
        device: torch.device,
        dtype: str = "float32",
        info: dict[str, Any] | None = None,
    ):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = device
        self.dtype_name = dtype
        self.autocast = dtype == "original"
        self.dtype = next(model.llama_model.parameters()).dtype
        cfg = model.visual_encoder.config
        self.image_size = cfg.image_size
        self.image_tokens = (cfg.image_size // cfg.patch_size) ** 2 // MERGE
        self.bos = tokenizer.bos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.info = info or {}
        self.swap_report: Any = None

    @classmethod
    def load(
        cls,
        model: str,
        minigptv2_ckpt: str | None,
        eva_ckpt: str | None,
        dtype: str = "float32",
        device: str = "auto",
        attn_implementation: str = DEFAULT_ATTENTION,
    ) -> MiniGPTv2Adapter:
        """`model`: the Llama-2-7b-chat HF directory. A `minigptv2_vision.json` (a `Blip2VisionConfig`) in it
        replaces the standard EVA ViT-g/448 tower config (used by the tiny test models)."""
        if dtype not in DTYPES:
            raise InvalidInput(f"--dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
        check_attn_implementation(attn_implementation)
        if not minigptv2_ckpt or not eva_ckpt:
            raise InvalidInput(
                "--vlm minigptv2 needs --minigptv2-ckpt (minigptv2_checkpoint.pth) and --eva-ckpt "
                "(eva_vit_g.pth) besides --model (the Llama-2-7b-chat HF directory)"
            )
        dev = resolve_device(device)
        if dtype == "original" and dev.type not in ("cuda", "cpu"):
            raise InvalidInput(
                f"--dtype original (ViT fp32 under fp16 autocast, LLM fp16) runs on cuda or cpu, not {dev.type}"
            )
        model_dir = resolve_model_dir(model)
        check_model_dir(model_dir, "--model", MODEL_TYPES["minigptv2"])
        transformers.utils.logging.disable_progress_bar()
        llm_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}.get(dtype, torch.float16)
        custom = model_dir / VISION_CONFIG_FILE
        vision_config = Blip2VisionConfig.from_json_file(custom) if custom.exists() else eva_vit_g_config()
        # The ViT is built in its final dtype ("original" keeps it fp32) and filled before the LLM loads: a bad
        # EVA file fails in seconds, and the file's pages are released before the LLM's weights arrive.
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        check_tokenizer_fits(model_dir, tokenizer, LlamaConfig.from_pretrained(model_dir).vocab_size)
        vision_dtype = torch.float32 if dtype == "original" else llm_dtype
        vision = blank_vision_tower(vision_config, vision_dtype)
        eva_report = load_eva_vit_g(vision, Path(eva_ckpt))
        # the LLM is loaded straight into its target dtype: no fp32 copy of 7B weights on the host
        llama = load_complete(
            LlamaForCausalLM, model_dir, "--model", dtype=llm_dtype, attn_implementation=attn_implementation
        )
        net = MiniGPTv2(vision, llama)
        reports = {
            "minigptv2_ckpt": load_stage_checkpoint(net, Path(minigptv2_ckpt)).to_dict(),
            "eva_ckpt": eva_report,
        }
        # peft creates LoRA in fp32 (as released); "original" keeps it, ViT, ln_vision and llama_proj fp32
        if dtype != "original" and llm_dtype != torch.float32:
            cast_all_but_llm(net, llm_dtype)
        info = {
            "model": model,
            "model_dir": str(model_dir),
            "weights_sha256": weights_fingerprint(model_dir),
            "minigptv2_ckpt": {"path": str(minigptv2_ckpt), "sha256": sha256_file(Path(minigptv2_ckpt))},
            "eva_ckpt": {"path": str(eva_ckpt), "sha256": sha256_file(Path(eva_ckpt))},
            "loading": reports,
        }
        return cls(net.to(dev), tokenizer, dev, dtype, info)

    # -- prompt and tokens ---------------------------------------------------------------------
    def format_prompt(self, instruction: str) -> str:
        return PROMPT.format(instruction=instruction)

    def encode(self, text: str, image: Image.Image | None = None) -> list[int]:
        """BOS, then literal `<s>` → BOS, `<ImageHere>` → image positions, other chunks encoded alone."""
        ids = [self.bos]
        for part in re.split(r"(<s>|<ImageHere>)", text):
            if part == "<s>":
                ids.append(self.bos)
            elif part == "<ImageHere>":
                ids.extend([IMAGE_PLACEHOLDER] * self.image_tokens)
            elif part:
                ids.extend(self.tokenizer(part, add_special_tokens=False).input_ids)
        return ids

    def pixel_values(self, images: list[Image.Image]) -> torch.Tensor:
        """Resize to S×S bicubic (PIL, aspect not kept), to [0,1], CLIP mean/std — as `blip2_image_eval`."""
        size = (self.image_size, self.image_size)
        arrays = [
            torch.frombuffer(
                bytearray(im.convert("RGB").resize(size, Image.BICUBIC).tobytes()), dtype=torch.uint8
            ).reshape(*size, 3)
            for im in images
        ]
        x = torch.stack(arrays).permute(0, 3, 1, 2).float() / 255.0
        x = (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
        return x.to(self.device, next(self.model.visual_encoder.parameters()).dtype)

    def _image_embeds(self, images: list[Image.Image]) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.autocast):
            return self.model.encode_img(self.pixel_values(images))

    # -- scoring -------------------------------------------------------------------------------
    @torch.inference_mode()
    def prefill(self, images: list[Image.Image], contexts: list[list[int]]) -> Prefix:
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        embeds = self.model.embed(ids, self._image_embeds(images))
        out = self.model.llama_model(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=positions_from_mask(mask),
            use_cache=True,
            logits_to_keep=1,
        )
        return Prefix(torch.log_softmax(out.logits[:, -1].float(), dim=-1), out.cache, mask, mask.sum(-1))

    @torch.inference_mode()
    def extend(
        self, prefix: Prefix, rows: torch.Tensor, input_ids: torch.Tensor, positions: torch.Tensor, attend: torch.Tensor
    ) -> torch.Tensor:
        return extend_from_prefix(
            self.model.llama_model, prefix, rows, input_ids, positions, attend, self.dtype, self.device
        )

    @torch.inference_mode()
    def full_logprobs(self, image: Image.Image, ids: list[int], n_context: int | None = None) -> torch.Tensor:
        x = torch.tensor([ids], device=self.device)
        embeds = self.model.embed(x, self._image_embeds([image]))
        out = self.model.llama_model(inputs_embeds=embeds, attention_mask=torch.ones_like(x))
        return torch.log_softmax(out.logits[0].float(), dim=-1)

    def train_logits(self, images: list[Image.Image], sequences: list[list[int]], n_context: list[int]) -> torch.Tensor:
        ids, mask = right_pad(sequences, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        embeds = self.model.embed(ids, self._image_embeds(images))
        return self.model.llama_model(inputs_embeds=embeds, attention_mask=mask).logits

    @torch.inference_mode()
    def generate(self, images: list[Image.Image], contexts: list[list[int]], max_new_tokens: int) -> list[str]:
        """Greedy, single beam, as the original eval; left padding with the mask off, as `minigpt_base`."""
        ids, mask = left_pad(contexts, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        embeds = self.model.embed(ids, self._image_embeds(images))
        out = self.model.llama_model.generate(
            inputs_embeds=embeds,
            attention_mask=mask,
            generation_config=greedy_config(max_new_tokens, self.pad_id, self.tokenizer.eos_token_id),
        )
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [t.split("</s>")[0].replace("<s>", "").split("[/INST]")[-1].strip() for t in texts]

    # -- encoder swap and record ---------------------------------------------------------------
    @property
    def vision_tower(self) -> torch.nn.Module:
        return self.model.visual_encoder

    def describe(self) -> dict[str, Any]:
        return {
            "vlm": self.family,
            **self.info,
            "dtype": self.dtype_name,
            "device": str(self.device),
            "attn_implementation": model_attn_implementation(self.model.llama_model),
            "prompt_template": self.format_prompt("{instruction}"),
            "target_delimiter": self.target_delimiter,
            "image_tokens": self.image_tokens,
            "image_size": self.image_size,
            "transformers": transformers.__version__,
        }


def cast_all_but_llm(net: MiniGPTv2, dtype: torch.dtype) -> None:
    """ViT, llama_proj and LoRA to `dtype`; the base LLM is already there (its fp32 rotary buffers stay fp32,
    as transformers loads them)."""
    net.visual_encoder.to(dtype)
    net.llama_proj.to(dtype)
    for n, p in net.llama_model.named_parameters():
        if "lora_" in n:
            p.data = p.data.to(dtype)

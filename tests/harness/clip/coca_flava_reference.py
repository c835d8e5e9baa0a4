"""Zero-shot logits computed with the families' own code only (open_clip's `CoCa.forward_intermediates`,
transformers' `FlavaModel.forward`), for the tests to hold `harness.clip.zeroshot` against. Each reference loads
its model once."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F


def _class_means(feats: torch.Tensor, names, templates) -> torch.Tensor:
    """CLIP's recipe on normalised features: mean over templates, normalised again."""
    return F.normalize(feats.reshape(len(names), len(templates), -1).mean(1), dim=-1)


class CocaReference:
    """open_clip alone: `CoCa.forward_intermediates` features (normalised by it) and its `logit_scale`."""

    def __init__(self, config: str, checkpoint: str):
        import open_clip

        open_clip.add_model_config(config)
        name = os.path.splitext(os.path.basename(config))[0]
        self.net, _, self.preprocess = open_clip.create_model_and_transforms(name, pretrained=checkpoint)
        self.net.eval()
        self.tokenizer = open_clip.get_tokenizer(name)

    @classmethod
    def from_spec(cls, spec: str) -> CocaReference:
        config, checkpoint = spec.removeprefix("open_clip:").split("@")
        return cls(config, checkpoint)

    @torch.no_grad()
    def __call__(self, images, names, templates) -> torch.Tensor:
        tokens = self.tokenizer([t.format(c) for c in names for t in templates])
        pixels = torch.stack([self.preprocess(im.convert("RGB")) for im in images])
        # forward_intermediates: CoCa.forward's towers without its captioning decoder (whose vocabulary-wide logits
        # cost ~4 GB per 250 prompts); test_coca checks the two give the same features
        img = self.net.forward_intermediates(image=pixels, output_logit_scale_bias=True)
        txt = self.net.forward_intermediates(text=tokens)["text_features"]
        return img["logit_scale"] * img["image_features"] @ _class_means(txt, names, templates).t()


class FlavaReference:
    """transformers alone: CLS rows of `FlavaModel`'s image/text embeddings through its projections (as
    `FlavaForPreTraining` feeds `FlavaGlobalContrastiveHead`) and exp(logit_scale). Texts padded to 77 tokens as
    FLAVA's examples do (the harness pads to the longest). `processor_dir`: where the tokenizer and image
    processor lie, when `model_dir` holds only weights."""

    def __init__(self, model_dir: str, processor_dir: str | None = None):
        from transformers import AutoTokenizer, FlavaImageProcessor, FlavaModel

        self.net = FlavaModel.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(processor_dir or model_dir)
        self.processor = FlavaImageProcessor.from_pretrained(processor_dir or model_dir)

    @torch.no_grad()
    def __call__(self, images, names, templates) -> torch.Tensor:
        texts = [t.format(c) for c in names for t in templates]
        inputs = self.tokenizer(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
        pixels = self.processor(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
        img = self.net(pixel_values=pixels).image_embeddings
        txt = self.net(**inputs).text_embeddings
        img = F.normalize(self.net.image_projection(img[:, 0]), dim=-1)
        txt = F.normalize(self.net.text_projection(txt[:, 0]), dim=-1)
        return self.net.logit_scale.exp() * img @ _class_means(txt, names, templates).t()

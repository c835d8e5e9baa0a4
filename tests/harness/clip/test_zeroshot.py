"""Zero-shot classification equals a direct computation with each library's own text/image features."""

from __future__ import annotations

import open_clip
import torch
import torch.nn.functional as F

from harness.clip.loading import load_clip
from harness.clip.zeroshot import zero_shot_classify

CLASSES = ["red", "green", "blue", "yellow", "purple", "orange", "black"]
TEMPLATES = ("a photo of a {} shape.", "{}", "a {} thing.")


def _expected(img: torch.Tensor, txt: torch.Tensor, scale: float, labels: list[int]):
    """img [N, E] and txt [C*T, E] raw features -> logits and top-1/top-5 accuracy."""
    w = F.normalize(F.normalize(txt, dim=-1).reshape(len(CLASSES), len(TEMPLATES), -1).mean(1), dim=-1)
    logits = scale * F.normalize(img, dim=-1) @ w.t()
    y = torch.tensor(labels)
    top5 = logits.topk(5, dim=-1).indices
    return logits, {
        "top1": float((top5[:, 0] == y).float().mean()),
        "top5": float((top5 == y[:, None]).any(1).float().mean()),
    }


def test_open_clip_zero_shot_matches_open_clip_features(clip_specs, shapes):
    model = load_clip(clip_specs["vit"])
    images = [shapes.image(i) for i in range(20)]
    labels = shapes.labels[:20]
    got = zero_shot_classify(model, images, CLASSES, TEMPLATES, top_k=(1, 5), labels=labels)

    net = model.net
    name = clip_specs["vit"].split(":", 1)[1].split("@")[0].rsplit("/", 1)[-1].removesuffix(".json")
    tok = open_clip.get_tokenizer(name)
    _, _, preprocess = open_clip.create_model_and_transforms(name)
    with torch.no_grad():
        txt = net.encode_text(tok([t.format(c) for c in CLASSES for t in TEMPLATES]))
        img = net.encode_image(torch.stack([preprocess(im) for im in images]))
    logits, acc = _expected(img, txt, net.logit_scale.exp().item(), labels)
    torch.testing.assert_close(got.logits, logits, atol=1e-5, rtol=1e-5)
    assert got.accuracy == acc
    assert got.predictions == logits.argmax(-1).tolist()


def test_hf_zero_shot_matches_clipmodel_outputs(clip_specs, shapes):
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    model = load_clip(clip_specs["hf"])
    images = [shapes.image(i) for i in range(20)]
    labels = shapes.labels[:20]
    got = zero_shot_classify(model, images, CLASSES, TEMPLATES, labels=labels)

    path = clip_specs["hf"].removeprefix("hf:")
    net = CLIPModel.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    proc = CLIPImageProcessor.from_pretrained(path)
    texts = tok(
        [t.format(c) for c in CLASSES for t in TEMPLATES], padding="max_length", max_length=16, return_tensors="pt"
    )
    with torch.no_grad():
        out = net(
            input_ids=texts.input_ids,
            attention_mask=texts.attention_mask,
            pixel_values=proc(images=images, return_tensors="pt").pixel_values,
        )
    logits, acc = _expected(out.image_embeds, out.text_embeds, net.logit_scale.exp().item(), labels)
    torch.testing.assert_close(got.logits, logits, atol=1e-5, rtol=1e-5)
    assert got.accuracy == acc


def test_top_k_is_capped_by_the_class_count(clip_specs, shapes):
    model = load_clip(clip_specs["eva"])
    res = zero_shot_classify(
        model, [shapes.image(0), shapes.image(1)], ["red", "green"], ("{}",), top_k=(1, 5), labels=[0, 1]
    )
    assert res.accuracy["top5"] == 1.0 and res.topk.shape == (2, 2)

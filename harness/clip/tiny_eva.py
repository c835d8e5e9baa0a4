"""`harness_tiny_eva`: a tiny timm `Eva` with EVA01-g's layout, registered with timm on import so open_clip
configs (tests, demos) can name it as their timm trunk like EVA01-g-14 names its own."""

from __future__ import annotations

import inspect

TINY_EVA = "harness_tiny_eva"


def register_tiny_eva() -> None:
    import timm
    from timm.models import register_model
    from timm.models.eva import Eva

    if TINY_EVA in timm.list_models(TINY_EVA):
        return
    accepted = set(inspect.signature(Eva.__init__).parameters)

    def harness_tiny_eva(pretrained: bool = False, **kwargs) -> Eva:
        """EVA01-g layout (fused qkv + q/v biases, GELU MLP, abs. positions) at 32 px, 3x32, 4 heads."""
        args = dict(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=4, mlp_ratio=2.0)
        args.update({k: v for k, v in kwargs.items() if k in accepted})
        return Eva(**args)

    register_model(harness_tiny_eva)


register_tiny_eva()

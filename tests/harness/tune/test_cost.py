"""FLOP counts of one transformer block against a hand count, peak memory, and the cost table.

`FlopCounterMode` counts matrix products only (here: the four attention projections and fc1/fc2 as addmm/mm, the
attention scores and weighted sum as bmm or one SDPA kernel); LayerNorm, softmax, the activation, residual adds
and bias reductions count zero, so the hand count below has matrix products only. For N tokens (batch B), width
D, MLP width M, one linear [in -> out] is 2·B·N·in·out FLOPs:

- forward: q, k, v, out projections 4·2·B·N·D², MLP 2·2·B·N·D·M (together `linears`), scores Q·Kᵀ and
  weights·V 2·2·B·N²·D (`attention`);
- backward, every weight trainable and the input requiring grad: each linear computes its input-grad and its
  weight-grad, one forward's worth each (2·linears); each attention product computes the grads of both its
  operands (2·attention; torch's SDPA formula adds one recomputation of the scores: 2.5·attention);
- backward, weights frozen, input requiring grad: input-grads only (1·linears), attention as above;
- backward, only fc1 trainable, input not requiring grad: the gradient reaches fc1's weight through fc2's
  input-grad; nothing below fc1 (its input-grad, attention, the projections) is computed: 2·(2·B·N·D·M).
"""

from __future__ import annotations

import pytest
import torch
from transformers import CLIPVisionConfig
from transformers.models.clip.modeling_clip import CLIPEncoderLayer

from harness.tune.cost import PeakMemory, StepCost, cost_table, count_flops

B, N, D, HEADS, M = 2, 50, 64, 4, 256
LINEARS = 4 * 2 * B * N * D * D + 2 * 2 * B * N * D * M
ATTENTION = 2 * 2 * B * N * N * D
ATTENTION_BACKWARD = {"eager": 2.0, "sdpa": 2.5}  # multiples of the forward attention products


def _layer(impl: str) -> CLIPEncoderLayer:
    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=D, num_attention_heads=HEADS, intermediate_size=M)
    cfg._attn_implementation = impl
    return CLIPEncoderLayer(cfg)


def _step(layer: CLIPEncoderLayer, x: torch.Tensor):
    def run() -> torch.Tensor:
        out = layer(x, None)
        out.square().mean().backward()
        return out

    return run


def _close(counted: int, hand: float) -> None:
    assert abs(counted - hand) <= 0.01 * hand, (counted, hand)


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_forward_flops_equal_the_hand_count(impl):
    layer = _layer(impl)
    out, flops = count_flops(lambda: layer(torch.randn(B, N, D), None))
    assert out.shape == (B, N, D)
    _close(flops, LINEARS + ATTENTION)


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_training_step_with_every_weight_trainable(impl):
    layer = _layer(impl)
    _, flops = count_flops(_step(layer, torch.randn(B, N, D, requires_grad=True)))
    _close(flops, 3 * LINEARS + (1 + ATTENTION_BACKWARD[impl]) * ATTENTION)
    assert all(p.grad is not None for p in layer.parameters())


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_frozen_weights_cost_input_grads_only(impl):
    layer = _layer(impl).requires_grad_(False)
    x = torch.randn(B, N, D, requires_grad=True)
    _, flops = count_flops(_step(layer, x))
    _close(flops, 2 * LINEARS + (1 + ATTENTION_BACKWARD[impl]) * ATTENTION)
    assert x.grad is not None and all(p.grad is None for p in layer.parameters())


def test_the_trainable_set_decides_how_far_backward_goes():
    layer = _layer("eager").requires_grad_(False)
    layer.mlp.fc1.weight.requires_grad_(True)
    _, flops = count_flops(_step(layer, torch.randn(B, N, D)))
    _close(flops, LINEARS + ATTENTION + 2 * (2 * B * N * D * M))
    assert layer.mlp.fc1.weight.grad is not None


def test_count_flops_returns_the_result_and_counts_a_matmul():
    a, b = torch.randn(3, 5), torch.randn(5, 7)
    result, flops = count_flops(lambda: a @ b)
    assert torch.equal(result, a @ b) and flops == 2 * 3 * 5 * 7
    assert count_flops(lambda: "no tensors") == ("no tensors", 0)


def test_count_flops_works_on_meta():
    layer = _layer("eager").to("meta")
    _, flops = count_flops(lambda: layer(torch.empty(B, N, D, device="meta"), None))
    _close(flops, LINEARS + ATTENTION)


def test_peak_memory_on_cpu_reports_the_host_peak():
    with PeakMemory("cpu") as peak:
        buf = torch.ones(2**20)  # 4 MiB
    assert peak.kind == "host_peak_rss" and peak.bytes >= buf.numel() * buf.element_size()


def test_step_cost_dict_and_table():
    rows = [
        ("lorsu", StepCost(1234, 5 * 10**9, 3 * 2**20, "host_peak_rss", 0.25)),
        ("ln", StepCost(10, None, None, "", None)),
    ]
    assert rows[0][1].to_dict() == {
        "trainable": 1234,
        "flops_per_step": 5 * 10**9,
        "peak_memory_bytes": 3 * 2**20,
        "memory_kind": "host_peak_rss",
        "seconds_per_step": 0.25,
    }
    lines = cost_table(rows).splitlines()
    assert lines[0] == "| method | trainable params | GFLOPs/step | peak memory MiB (host_peak_rss) | s/step |"
    assert lines[2] == "| lorsu | 1,234 | 5.00 | 3 | 0.250 |"
    assert lines[3] == "| ln | 10 | – | – | – |"

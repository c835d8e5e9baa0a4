"""Encoder updates for CLIP vision towers: LoRSU, SPU, LoRA, LayerNorm-only and full fine-tuning.

`run.tune(model, data, TuneConfig(...), out)` trains one or more sessions and exports each merged tower
in the LoRSU release layout; the CLIP models and data it trains on live in `harness.clip`.
See `run` for the output layout, `config` for every hyper-parameter and its released default.
"""

"""Tiny real models built from configs: the offline default for the demo, tests and benchmarks."""

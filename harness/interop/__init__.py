"""The harness as a model for lm-eval (`harness-vlm`) and lmms-eval (`harness`), and our tasks as lm-eval YAMLs.

Optional: `pip install "harness[lm-eval]"` / `"harness[lmms-eval]"`. Nothing here is imported by the core.
"""

"""The harness as a model for lm-eval (`harness-vlm`) and lmms-eval (`harness`), and our tasks as lm-eval YAMLs.

Optional: `pip install "vlm-harness[lm-eval]"`, or `pip install "vlm-harness[lmms-eval]" && pip install --no-deps
lmms-eval==0.7.3` (README). Nothing here is imported by the core.
"""

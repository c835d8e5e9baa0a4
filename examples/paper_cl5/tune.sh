#!/usr/bin/env bash
# The exports sweep.toml reads: every method's continual few-shot run on one target, 5 sessions of disjoint classes
# (the released code's GTSRB class order), through LLaVA-1.5 (the answer loss; the README's CL-5 recipe by default).
#
#   bash examples/paper_cl5/tune.sh               # CL-5
#   SHOTS=20 bash examples/paper_cl5/tune.sh      # CL-20 (SHOTS=50: CL-50); use another OUT per setting
#   METHODS="lorsu lora" bash examples/paper_cl5/tune.sh    # some methods only
#
# DATA (default: data/ beside this script) holds each dataset under its usual name; OUT (default: tune/ beside it)
# gets OUT/<method>/session-<S>/: a merged tower checkpoint_session-S_epoch-E.safetensors for the tower methods
# (lorsu lora ln fft spu), a PEFT adapter peft/ for the LLM-side ones (lora-llm lora-llm-last lora-full).
# Re-running resumes after the last complete session. Extra options go to every command: bash tune.sh --seed 1
# sweep.toml reads OUT=tune/ and targets gts: with another OUT or TASK, edit its paths and [plot] to match.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODEL="${MODEL:-llava-hf/llava-1.5-7b-hf}"
DATA="${DATA:-$HERE/data}"
OUT="${OUT:-$HERE/tune}"
TASK="${TASK:-gts}"
SHOTS="${SHOTS:-5}"
SESSIONS="${SESSIONS:-5}"
METHODS="${METHODS:-lorsu lora ln fft spu lora-llm lora-llm-last lora-full}"

for method in $METHODS; do
    harness tune --vlm llava --model "$MODEL" --method "$method" --protocol continual \
        --sessions "$SESSIONS" --shots "$SHOTS" --task "$TASK" --data-root "$DATA" --out "$OUT/$method" "$@"
done

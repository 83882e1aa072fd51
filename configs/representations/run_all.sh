#!/usr/bin/env bash
# Does the representation change which strategy wins at 1-10 labels a class? Digits and a
# 3,000-image Fashion-MNIST pool, 8 seeds: raw pixels, EfficientNet-Lite0's ImageNet features
# (selected in, and learnt on or not) and pal's own self-supervised encoder; reports (one panel
# per representation) to docs/generated/representations/. docs/studies/representations.md
# reads them. Fashion-MNIST needs apt-get install dataset-fashion-mnist.
# Usage: bash configs/representations/run_all.sh [STORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:-representations.sqlite}
workers=${WORKERS:-2}
for data in digits fashion; do
    palbench run "configs/representations/$data.toml" --store "$store" --workers "$workers" \
        --quiet
    palbench report --store "$store" --experiment "representations-$data" --panels learner \
        --out "docs/generated/representations/$data"
done
# the study page's tables and figure (docs/studies/representations.md) from the same store
"${PYTHON:-python}" tools/representation_study.py "$store"

#!/usr/bin/env bash
# Does practice change which strategy reaches a target for the fewest seconds, or the
# labels-vs-pairs comparison? Digits and a 3,000-image Fashion-MNIST pool, 8 seeds, priced in
# annotator seconds: a fixed-price annotator against the same one practising (and a pool of 5
# practising workers who differ in speed); reports to docs/generated/annotators/. About 6
# minutes on 2 CPU cores.
# Usage: bash configs/annotators/run_all.sh [STORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:-annotators.sqlite}
workers=${WORKERS:-2}
palbench run configs/annotators/digits.toml --store "$store" --workers "$workers" --quiet
palbench report --store "$store" --experiment annotators-digits \
    --panels oracle --out docs/generated/annotators/digits
palbench run configs/annotators/fashion.toml --store "$store" --workers "$workers" --quiet
palbench report --store "$store" --experiment annotators-fashion \
    --panels oracle --out docs/generated/annotators/fashion

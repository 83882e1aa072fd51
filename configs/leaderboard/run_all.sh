#!/usr/bin/env bash
# The standing leaderboard of label strategies (native and scikit-activeml's through the adapter)
# on digits, a 10,000-image Fashion-MNIST pool and a tabular CSV; reports to docs/generated/leaderboard/:
# one per data set and one across all three (ranks over data set x seed blocks). About 21
# minutes on 2 CPU cores (27 with BATCH_CELLS=1). Needs pip install 'palbench[peers]' and
# apt-get install dataset-fashion-mnist. Usage: [BATCH_CELLS=N] bash configs/leaderboard/run_all.sh [STORE]
# (BATCH_CELLS=1: every cell alone, the time before cells were trained together)
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:-leaderboard.sqlite}
workers=${WORKERS:-2}
for data in breast_cancer digits fashion; do
    palbench run "configs/leaderboard/${data}.toml" --store "$store" --workers "$workers" --quiet \
        ${BATCH_CELLS:+--batch-cells "$BATCH_CELLS"}
    palbench report --store "$store" --experiment "leaderboard-$data" --rank-blocks seed \
        --out "docs/generated/leaderboard/$data"
done
palbench report --store "$store" --rank-blocks seed --out docs/generated/leaderboard

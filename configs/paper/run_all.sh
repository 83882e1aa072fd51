#!/usr/bin/env bash
# Reproduce the PAL paper's toy experiments with the harness; reports go to docs/generated/paper/NAME/.
# About 4 minutes on 2 CPU cores. Usage: bash configs/paper/run_all.sh [STORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:-paper.sqlite}
workers=${WORKERS:-2}
while read -r config experiment hue; do
    for file in "configs/paper/$config.toml" "configs/paper/${config}_notebook.toml"; do
        if [ -f "$file" ]; then  # _notebook: the notebooks' raw-answers passive baseline
            palbench run "$file" --store "$store" --workers "$workers" --quiet
        fi
    done
    palbench report --store "$store" --experiment "$experiment" --metric probe_acc \
        --hue "$hue" --out "docs/generated/paper/$config"
done <<'LIST'
active_vs_passive paper-active-vs-passive strategy
signed_vs_unsigned paper-signed-vs-unsigned learner
missing_entries paper-missing-entries strategy
corrupted_labels paper-corrupted-labels oracle
LIST
palbench report --store "$store" --experiment paper-active-vs-passive --metric task_acc \
    --out docs/generated/paper/active_vs_passive/task_acc

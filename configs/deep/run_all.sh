#!/usr/bin/env bash
# Label queries (mlp) against pair queries (pal) on digits and Fashion-MNIST (10,000-image pool),
# on one cost axis; reports to docs/generated/deep/. About 14 minutes on 2 CPU cores; Fashion-MNIST needs
# apt-get install dataset-fashion-mnist. Usage: bash configs/deep/run_all.sh [STORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:-deep.sqlite}
workers=${WORKERS:-2}
for data in digits fashion; do
    for kind in labels pairs; do
        palbench run "configs/deep/${data}_${kind}.toml" --store "$store" --workers "$workers" \
            --quiet
    done
    for metric in task_acc probe_acc; do
        palbench report --store "$store" --experiment "deep-$data" --panels dataset \
            --metric "$metric" --out "docs/generated/deep/$data/$metric"
    done
done

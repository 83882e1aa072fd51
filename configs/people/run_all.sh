#!/usr/bin/env bash
# Which query type reaches 80% and 90% of the best accuracy at the least human time? Labels
# (random, margin), pair questions (pal_ordered) and M-image group questions (pal_group, M = 4
# and 8) on digits and a 10,000-image Fashion-MNIST pool, 5 seeds, priced in annotator seconds,
# answered by people-like oracles, and a pool of workers who differ asked once or three times;
# reports to docs/generated/people/. About 8 minutes on 2 CPU cores.
# Usage: bash configs/people/run_all.sh [STORE]
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${1:-people.sqlite}
workers=${WORKERS:-2}
for data in digits fashion; do
    for annotator in "" _fine_grained; do
        palbench run "configs/people/${data}${annotator}.toml" --store "$store" \
            --workers "$workers" --quiet
    done
    palbench report --store "$store" --experiment "people-$data" --out "docs/generated/people/$data"
done
for part in "" _routed; do
    palbench run "configs/people/digits_workers${part}.toml" --store "$store" \
        --workers "$workers" --quiet
done
palbench report --store "$store" --experiment people-workers --panels dataset \
    --out docs/generated/people/workers

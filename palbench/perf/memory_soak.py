"""Resident memory over a long run: one cell with many checkpoints, RSS after each.

    python -m palbench.perf.memory_soak [--checkpoints 200] [--learner sklearn|mlp]

Prints the RSS curve (every 20th checkpoint) and the growth per checkpoint fitted over the second
half (a leak shows as a steady positive slope).
"""

from __future__ import annotations

import argparse

import numpy as np

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import run_cell


def rss_mib() -> float:
    """Current resident set size (Linux /proc), MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak(checkpoints: int = 200, learner: str = "sklearn") -> list[float]:
    learners = {"sklearn": {"name": "sklearn"},
                "mlp": {"name": "mlp", "hidden": [32], "epochs": 5, "device": "cpu"}}
    plan = plan_from_raw({
        "experiment": {"seeds": [0], "budgets": list(range(2, 2 * checkpoints + 1, 2)),
                       "batch_size": 2, "probe": learner == "mlp"},
        "dataset": {"name": "blobs", "n_samples": 4 * checkpoints + 200, "n_features": 8,
                    "n_classes": 4},
        "strategy": {"name": "margin"}, "oracle": {"name": "noisy_label", "noise": 0.1},
        "learner": learners[learner]})
    curve: list[float] = []
    cell = plan.cells[0]
    run_cell(cell, plan.datasets[cell.dataset.label], lambda _: curve.append(rss_mib()))
    return curve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=200)
    parser.add_argument("--learner", choices=("sklearn", "mlp"), default="sklearn")
    args = parser.parse_args(argv)
    curve = soak(args.checkpoints, args.learner)
    for i in range(0, len(curve), 20):
        print(f"checkpoint {i + 1:4d}: RSS {curve[i]:7.1f} MiB")
    half = len(curve) // 2
    slope = np.polyfit(np.arange(half, len(curve)), curve[half:], 1)[0]
    print(f"checkpoint {len(curve):4d}: RSS {curve[-1]:7.1f} MiB; growth over the second half "
          f"{slope * 1024:+.1f} KiB per checkpoint")


if __name__ == "__main__":
    main()

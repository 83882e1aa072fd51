"""Cells trained together against cells trained alone: fits per second, and whole processes.

    palbench bench batching [--learner mlp|pal|pal-cnn] [--seeds 10] [--strategies a,b,...]
        [--budgets 20,40,80,160,320] [--workers 2] [--repeats 1] [--members 10]
        [--epochs 100] [--device cpu|cuda] [--fits-only]

(1) Fits: `--members` networks of the leaderboard's learner (digits, 200 labels each, each its
own seed) trained one after another, then as one batch (`learners.batched`), one thread;
fits per second and the ratio, and whether every member's weights came out equal.
(2) Whole processes: the leaderboard's digits slice (`--strategies` x `--seeds`, mlp or pal,
the leaderboard's budgets) run by `palbench run` twice, side by side in fresh stores: with
`--batch-cells 1` (every cell alone) and with the default (lockstep groups, their fits
batched); wall seconds of each process, the ratio, and whether the two stores hold the same
rows. With `--learner pal` the slice trains `pal` (its default MLP encoder and class head,
without pretraining), whose fits batch too; `--learner pal-cnn`, its CNN encoder on digits'
8x8 images (convolutions batched as unfold and a matrix product per member).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STRATEGIES = "random,least_confident,margin,entropy,coreset"
LEARNERS = {"mlp": {"name": "mlp", "hidden": [128], "dropout": 0.2},
            "pal": {"name": "pal", "pretrain": "off"},
            "pal-cnn": {"name": "pal", "encoder": "cnn", "pretrain": "off"}}


def fit_members(count: int, device: str, epochs: int = 100) -> tuple[float, float, bool]:
    """Seconds for `count` fits alone, then together, and whether they agree bit for bit."""
    import torch
    from sklearn.datasets import load_digits

    from palbench.learners.supervised import MLP

    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    rng = np.random.default_rng(0)
    sets = [(X[rows], y[rows]) for rows in (rng.choice(len(X), 200, replace=False)
                                            for _ in range(count))]
    learner = MLP(hidden=(128,), epochs=epochs, min_steps=100, batch_size=64, lr=1e-3,
                  weight_decay=1e-4, dropout=0.2, device=device)
    t0 = time.perf_counter()
    alone = [learner.fit_labels(features, labels, 10, seed=seed) for seed, (features, labels) in
             enumerate(sets)]
    solo = time.perf_counter() - t0
    t0 = time.perf_counter()
    together = learner.fit_labels_batch(sets, 10, seeds=list(range(count)))
    batched = time.perf_counter() - t0
    same = all(torch.equal(a, b) for model_a, model_b in zip(alone, together)
               for a, b in zip(model_a.net.parameters(), model_b.net.parameters()))
    return solo, batched, same


def slice_config(folder: Path, learner: str, strategies: list[str], seeds: int,
                 budgets: str) -> Path:
    import json

    table = {**LEARNERS[learner], "device": "cpu"}
    lines = ["[experiment]", 'name = "batching"', f"seeds = {list(range(seeds))}",
             f"budgets = [{budgets}]", "batch_size = 10", "probe = false",
             "[dataset]", 'name = "digits"', "[oracle]", 'name = "exact"']
    for strategy in strategies:
        lines += ["[[strategy]]", f"name = {json.dumps(strategy)}"]
    lines += ["[learner]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
    path = folder / f"{learner}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def whole_process(config: Path, store: Path, workers: int, batch: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "palbench", "run", str(config), "--store", str(store),
                    "--quiet", "--workers", str(workers), *batch], check=True)
    return time.perf_counter() - t0


def same_rows(a: Path, b: Path) -> bool:
    from palbench.results.store import ResultsStore

    columns = ["strategy", "seed", "budget", "cost", "n_labels", "task_acc", "balanced_acc",
               "macro_f1"]
    frames = []
    for path in (a, b):
        with ResultsStore(path, mode="read") as store:
            frames.append(store.to_frame()[columns].sort_values(columns[:3])
                          .reset_index(drop=True))
    return frames[0].equals(frames[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", choices=sorted(LEARNERS), default="mlp")
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="whole-process pairs, interleaved")
    parser.add_argument("--members", type=int, default=10, help="networks in the fit benchmark")
    parser.add_argument("--epochs", type=int, default=100, help="of each fit benchmark network")
    parser.add_argument("--budgets", default="20,40,80,160,320", help="the slice's checkpoints")
    parser.add_argument("--device", default="cpu", help="where the fit benchmark trains")
    parser.add_argument("--fits-only", action="store_true", help="skip the whole processes")
    args = parser.parse_args(argv)
    solo, batched, same = fit_members(args.members, args.device, args.epochs)
    print(f"fits ({args.members} digits MLPs 64-128-10, 200 labels, {args.epochs} epochs "
          f"(at least 100 steps), dropout 0.2, "
          f"{args.device}, one thread): alone {args.members / solo:.1f} fits/s ({solo:.2f} s), "
          f"together {args.members / batched:.1f} fits/s ({batched:.2f} s): "
          f"{solo / batched:.1f}x; weights bit-identical: {same}")
    if args.fits_only:
        return 0
    strategies = args.strategies.split(",")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        config = slice_config(folder, args.learner, strategies, args.seeds, args.budgets)
        runs = len(strategies) * args.seeds
        for repeat in range(args.repeats):
            alone = whole_process(config, folder / f"alone{repeat}.sqlite", args.workers,
                                  ["--batch-cells", "1"])
            grouped = whole_process(config, folder / f"grouped{repeat}.sqlite", args.workers,
                                    [])
            identical = same_rows(folder / f"alone{repeat}.sqlite",
                                  folder / f"grouped{repeat}.sqlite")
            print(f"whole process, digits, {args.learner}, {runs} runs, {args.workers} workers: "
                  f"alone {alone:.1f} s, in lockstep groups {grouped:.1f} s: "
                  f"{alone / grouped:.2f}x; rows identical: {identical}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

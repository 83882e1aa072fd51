"""Learners on the very same answers: the check to make before publishing "pairs beat labels".

    palbench bench answers [--dataset digits] [--strategy pal_ordered] [--oracle exact_pair]
        [--budgets 30,60,120,240,480] [--seeds 0,1,2] [--learner mlp --learner pal ...]

A pair (or label) strategy is run once per seed against the oracle, with a scikit-learn
logistic regression as the model it selects with; the similarity graph is frozen at every
budget. Every learner is then fitted on each frozen graph (the same answers for all of them)
and evaluated on the test set. Printed: task accuracy per budget (mean over seeds with a
Student-t 95% interval), and the median fit time of each learner as a ratio to the first one
(the mlp by default), measured side by side in this process on one thread.

A learner is a registry name, optionally with parameters as JSON: `pal:{"alpha": 0.2}`.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import numpy as np

from palbench.bench.grid import cell_for
from palbench.bench.loop import CellState
from palbench.bench.threads import single_threaded
from palbench.datasets import DATASETS
from palbench.learners import LEARNERS
from palbench.oracles import ORACLES
from palbench.params import build
from palbench.perf import dataset_table
from palbench.reports.stats import mean_ci
from palbench.strategies import STRATEGIES


def frozen_graphs(data, strategy: str, oracle: str, budgets, seeds, batch: int) -> dict:
    """(seed, budget) -> the run's SimilarityGraph at that budget (a deep copy)."""
    selector = build(LEARNERS.get("sklearn"), {"params": {"max_iter": 300}}, "selector")
    graphs = {}
    for seed in seeds:
        cell = cell_for(data, strategy=build(STRATEGIES.get(strategy), {}, "strategy"),
                        oracle=build(ORACLES.get(oracle), {}, "oracle"), learner=selector,
                        seed=seed, label=strategy)
        state = CellState(cell, data).start()
        for budget in budgets:
            while state.ledger.spent < budget:
                if state.strategy.needs_model and state.model_is_stale and \
                        (state.ledger.graph.known_labels() >= 0).any():
                    state.refit()
                if not state.ask(max(1, min(batch, int(budget - state.ledger.spent)))):
                    break
            graphs[seed, budget] = copy.deepcopy(state.ledger.graph)
    return graphs


def parse_learner(text: str):
    name, _, params = text.partition(":")
    return text, build(LEARNERS.get(name, "--learner"), json.loads(params) if params else {},
                       "learner")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", choices=DATASETS.names())
    parser.add_argument("--n", type=int, default=10000, help="pool size (fashion_mnist)")
    parser.add_argument("--strategy", default="pal_ordered")
    parser.add_argument("--oracle", default="exact_pair")
    parser.add_argument("--budgets", default="30,60,120,240,480")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--batch", type=int, default=30)
    parser.add_argument("--learner", action="append", metavar="NAME[:JSON]",
                        help="a learner to fit (repeat; default: mlp and pal)")
    args = parser.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    learners = [parse_learner(t) for t in (args.learner or ["mlp", "pal"])]
    table = dataset_table(args.dataset, args.n, n_test=2000)
    data = DATASETS.get(args.dataset)(**{k: v for k, v in table.items() if k != "name"}) \
        .prepare(args.dataset, "dataset")
    graphs = frozen_graphs(data, args.strategy, args.oracle, budgets, seeds, args.batch)
    known = [np.mean([(graphs[s, b].known_labels() >= 0).sum() for s in seeds])
             for b in budgets]
    print(f"{args.dataset} (pool {data.n_pool}), {args.strategy} answered by {args.oracle}, "
          f"seeds {seeds}; samples of known class per budget: "
          + ", ".join(f"{b:g}: {k:.0f}" for b, k in zip(budgets, known)))
    width = max(12, *(len(label) for label, _ in learners))
    print(f"\ntask accuracy, mean over seeds [95% t-interval]\n{'learner':<{width}} " +
          " ".join(f"{b:>22g}" for b in budgets) + "   fit s (median)")
    fit_times = {}
    with single_threaded():
        for label, learner in learners:
            cells, times = [], []
            for budget in budgets:
                scores = []
                for seed in seeds:
                    t0 = time.perf_counter()
                    model = learner.fit(data, graphs[seed, budget], seed=seed)
                    times.append(time.perf_counter() - t0)
                    predicted = model.predict_proba(data.X_test).argmax(axis=1)
                    scores.append(float((predicted == data.y_test).mean()))
                mean, low, high = mean_ci(scores)
                cells.append(f"{mean:.3f} [{low:.3f}, {high:.3f}]")
            fit_times[label] = statistics.median(times)
            print(f"{label:<{width}} " + " ".join(f"{c:>22}" for c in cells) +
                  f"   {fit_times[label]:.3f}", flush=True)
    first = learners[0][0]
    print(f"\nfit time relative to {first}: " + ", ".join(
        f"{label} {seconds / fit_times[first]:.1f}x" for label, seconds in fit_times.items()))


if __name__ == "__main__":
    main()

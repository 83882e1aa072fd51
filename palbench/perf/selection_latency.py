"""Selection latency of every registered strategy on a large pool.

    python -m palbench.perf.selection_latency [--dataset fashion_mnist] [--n 60000]
        [--answered 500] [--k 30] [--repeat 5] [--strategies a,b,...]

The pool is the dataset's training set (Fashion-MNIST: all 60,000 images by default). Before
timing, `--answered` random label queries (pair strategies: the free exemplars and as many
random pairs) are answered by an exact oracle and a logistic regression is fitted on the known
labels, as the loop would have done. Prints, per strategy, the first call (which builds any
per-run cache, such as graph_coverage's ball graph) and the median of `--repeat` further
calls, plus the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from palbench.bench.config import plan_from_raw
from palbench.bench.loop import Ledger, single_threaded
from palbench.learners.sklearn_adapter import Sklearn
from palbench.oracles.base import Truth
from palbench.oracles.exact import Exact
from palbench.oracles.pairs import ExactPair
from palbench.perf import dataset_table
from palbench.queries import LabelQueries, PairQueries, PriceList
from palbench.strategies.base import STRATEGIES, QueryContext, random_choice


def load(dataset: str, n: int):
    table = dataset_table(dataset, n, n_test=1000)
    plan = plan_from_raw({"experiment": {"seeds": [0], "budgets": [1]}, "dataset": table,
                          "strategy": {"name": "random"}, "learner": {"name": "sklearn"}})
    return next(iter(plan.datasets.values()))


def prepared_context(data, strategy, answered: int, seed: int = 0):
    """A context as the loop would hand it over after `answered` queries."""
    rng = np.random.default_rng(seed)
    truth = Truth(data.y, data.n_classes, PriceList(np.ones(data.n_classes)), labelling_seed=seed)
    ledger = Ledger(data, "majority")
    exemplars = ledger.reveal_exemplars(data.y, strategy.free_exemplars, data.n_classes, rng)
    if strategy.query_kind == "label":
        picked = random_choice(np.flatnonzero(~ledger.queried), answered, rng)
        ledger.add(Exact().answer(LabelQueries(picked), truth, rng), data.y)
    else:
        a = rng.integers(0, data.n_pool, answered)
        b = exemplars[rng.integers(0, data.n_classes, answered)]
        keep = a != b
        ledger.add(ExactPair().answer(PairQueries(a[keep], b[keep]), truth, rng), data.y)
    ctx = QueryContext(X=data.X, queried=ledger.queried, n_classes=data.n_classes,
                       graph=ledger.graph, exemplars=exemplars, asked_pairs=ledger.asked_pairs)
    if strategy.needs_model:
        learner = Sklearn(params={"max_iter": 200})
        ctx.model, ctx.model_version = learner.fit(data, ledger.graph, seed=seed), 1
    return ctx


def time_strategy(data, name: str, answered: int, k: int, repeat: int) -> tuple[float, float]:
    strategy = STRATEGIES.get(name)()
    ctx = prepared_context(data, strategy, answered)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    strategy.select(ctx, k, rng)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        strategy.select(ctx, k, rng)
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--n", type=int, default=60000, help="pool size (fashion_mnist only)")
    parser.add_argument("--answered", type=int, default=500)
    parser.add_argument("--k", type=int, default=30, help="batch size asked for")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--strategies", default=",".join(STRATEGIES.names()))
    args = parser.parse_args(argv)
    data = load(args.dataset, args.n)
    print(f"{args.dataset}: pool N = {data.n_pool:,} x {data.X.shape[1]} features, "
          f"{args.answered} answered, k = {args.k}, one thread")
    print(f"{'strategy':<16} {'first call':>12} {'median next':>12}")
    with single_threaded():
        for name in args.strategies.split(","):
            first, median = time_strategy(data, name, args.answered, args.k, args.repeat)
            print(f"{name:<16} {first * 1e3:>10.1f}ms {median * 1e3:>10.1f}ms", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()

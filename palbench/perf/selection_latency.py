"""Selection latency of every registered strategy on a large pool, side by side with
scikit-activeml's implementation of the same strategy where it has one.

    palbench bench latency [--dataset fashion_mnist] [--n 60000] [--dims 64] [--answered 500]
        [--k 100] [--repeat 3] [--threads 2] [--strategies a,b,...] [--no-peers] [--coverage]

The pool is the dataset's training set (Fashion-MNIST: all 60,000 images by default), projected
on its `--dims` leading principal components (0: the raw features), the 64-dimensional space
the goal is stated in. Before timing, `--answered` random label queries (pair strategies: the
free exemplars and as many random pairs) are answered by an exact oracle and the model is
fitted as the loop would: a logistic regression, or for the MC-dropout strategies (bald,
batch_bald) an `mlp` with dropout 0.2. Printed per strategy: the first call (which builds any
per-run cache, such as graph_coverage's ball graph), the median of `--repeat` further calls,
and, for coreset, typiclust, badge, bald and batch_bald, the median of scikit-activeml 1.0.1 on
the very same inputs in this same process, with the ratio palbench / scikit-activeml.
`--coverage` also prints what graph_coverage's sampled coverage (pools over `max_cover`) costs
in coverage against the exact ball graph.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import warnings

import numpy as np

from palbench.bench.config import plan_from_raw
from palbench.bench.grid import cell_for
from palbench.bench.loop import CellState
from palbench.bench.threads import limited_threads
from palbench.learners.sklearn_adapter import Sklearn
from palbench.oracles.exact import Exact
from palbench.oracles.pairs import ExactPair
from palbench.oracles.workers import Workers
from palbench.perf import dataset_table
from palbench.queries import LabelQueries, PairQueries
from palbench.strategies.base import STRATEGIES, random_choice


def load(dataset: str, n: int, dims: int = 0):
    table = dataset_table(dataset, n, n_test=1000)
    plan = plan_from_raw({"experiment": {"seeds": [0], "budgets": [1]}, "dataset": table,
                          "strategy": {"name": "random"}, "learner": {"name": "sklearn"}})
    data = next(iter(plan.datasets.values()))
    if dims and data.X.shape[1] > dims:
        from dataclasses import replace

        from palbench.strategies.graph_coverage import project
        data = replace(data, X=np.ascontiguousarray(project(data.X, dims)))
    return data


def model_for(strategy):
    """What the loop would have fitted for this strategy."""
    if "sample_proba" in strategy.requires():
        from palbench.learners.supervised import MLP
        return MLP(dropout=0.2, device="cpu")
    return Sklearn(params={"max_iter": 200})


def prepared_context(data, strategy, answered: int, seed: int = 0):
    """A context as the loop hands it over after `answered` random queries: the loop's own
    CellState (a routed strategy's oracle a pool of 20 workers, 3 a question)."""
    kind = "label" if strategy.query_kind == "label" else "pair"
    oracle = Workers(base={"name": "exact" if kind == "label" else "exact_pair"},
                     n_workers=20, redundancy=3, assign="strategy") \
        if strategy.routes_workers else (Exact() if kind == "label" else ExactPair())
    state = CellState(cell_for(data, strategy=strategy, oracle=oracle,
                               learner=model_for(strategy), seed=seed), data).start()
    rng = np.random.default_rng(seed)
    if kind == "label":
        queries = LabelQueries(random_choice(np.flatnonzero(~state.ledger.queried), answered,
                                             rng))
    else:
        a = rng.integers(0, data.n_pool, answered)
        b = state.ctx.exemplars[rng.integers(0, data.n_classes, answered)]
        queries = PairQueries(a[a != b], b[a != b])
    answering = Exact() if kind == "label" else ExactPair()  # random questions, not routed ones
    state.ledger.add(answering.answer(queries, state.truth, state.ledger.history(), rng),
                     data.y)
    if strategy.needs_model:
        state.refit()
    return state.ctx


def peer_query(name: str, strategy, ctx, k: int):
    """scikit-activeml's implementation of `name` on the context's inputs, or None."""
    import skactiveml.pool as pool
    from skactiveml.classifier import SklearnClassifier
    from skactiveml.pool._bald import batch_bald
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.linear_model import LogisticRegression

    known = ctx.graph.known_labels()
    y = np.where(known >= 0, known, np.nan)
    X = ctx.X
    if name == "coreset":
        return lambda: pool.CoreSet(random_state=0).query(X, y, batch_size=k)
    if name == "typiclust":  # the same clustering algorithm as palbench's above 50 clusters
        return lambda: pool.TypiClust(
            random_state=0, cluster_algo=MiniBatchKMeans, k=strategy.neighbours,
            cluster_algo_dict={"batch_size": 5000, "n_init": 1}).query(X, y, batch_size=k)
    if name == "badge":
        clf = SklearnClassifier(LogisticRegression(max_iter=200), classes=np.arange(
            ctx.n_classes), random_state=0).fit(X, y)
        return lambda: pool.Badge(random_state=0).query(X, y, clf=clf, fit_clf=False,
                                                      batch_size=k)
    if name in ("bald", "batch_bald"):
        from palbench.strategies.bald import bald_scores
        rows = ctx.candidates

        def mc_bald():
            samples = ctx.model.sample_proba(X[rows], strategy.n_samples, seed=0)
            if name == "bald":
                return np.argsort(-batch_bald(samples, 1)[0])[:k]
            keep = np.argsort(-bald_scores(samples))[:strategy.max_candidates]
            return batch_bald(samples[:, keep], k, n_MC_samples=strategy.n_configs,
                              random_state=0)
        return mc_bald
    return None


def coverage_price(data, answered: int, k: int, starts: int = 3) -> None:
    """What graph_coverage's sampled coverage (max_cover points) costs in coverage: the share
    of the pool that k greedy picks newly cover, with the exact ball graph and with the
    sampled one, from `starts` random sets of answered samples (the exact graph judges both)."""
    from palbench.strategies.graph_coverage import (
        GraphCoverage,
        ball_graph,
        coverage_select,
        delta_graph,
        purity_delta,
    )
    max_cover = GraphCoverage().max_cover
    delta = purity_delta(data.X, data.n_classes, GraphCoverage().purity)
    t0 = time.perf_counter()
    exact = ball_graph(data.X, delta)
    exact_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    sampled = delta_graph(data.X, data.n_classes, delta, 0.95, 0, max_cover)
    sampled_seconds = time.perf_counter() - t0
    gains = {"exact": [], "sampled": []}
    for start in range(starts):
        queried = np.zeros(data.n_pool, bool)
        queried[np.random.default_rng(start).choice(data.n_pool, answered, replace=False)] = True
        before = (np.asarray(exact[queried].sum(axis=0)).ravel() > 0).mean()
        for name, (graph, members) in (("exact", (exact, exact)), ("sampled", sampled)):
            picks = coverage_select(graph, queried.copy(), k, np.random.default_rng(1), members)
            after = queried.copy()
            after[picks] = True
            gains[name].append((np.asarray(exact[after].sum(axis=0)).ravel() > 0).mean() - before)
    exact_gain, sampled_gain = np.mean(gains["exact"]), np.mean(gains["sampled"])
    print(f"graph_coverage coverage check: exact ball graph {exact_seconds:.2f}s, on "
          f"{max_cover:,} sampled points {sampled_seconds:.2f}s; {k} picks newly cover "
          f"{exact_gain:.3f} (exact) and {sampled_gain:.3f} (sampled) of the pool: "
          f"{sampled_gain / exact_gain:.0%} of the exact gain (mean of {starts} starts)")


def timed(call, repeat: int) -> tuple[float, float]:
    """Seconds of the first call and the median of `repeat` more."""
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times) if times else first


def time_strategy(data, name: str, answered: int, k: int, repeat: int, peers: bool):
    strategy = STRATEGIES.get(name)()
    with warnings.catch_warnings():  # an unconverged model is still a model to select with
        warnings.simplefilter("ignore")
        ctx = prepared_context(data, strategy, answered)
        rng = np.random.default_rng(1)
        first, median = timed(lambda: strategy.select(ctx, k, rng), repeat)
        peer = peer_query(name, strategy, ctx, k) if peers else None
        peer_median = timed(peer, max(repeat - 1, 0))[1] if peer else None
    return first, median, peer_median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--n", type=int, default=60000, help="pool size (fashion_mnist only)")
    parser.add_argument("--dims", type=int, default=64,
                        help="principal components kept (0: raw features)")
    parser.add_argument("--answered", type=int, default=500)
    parser.add_argument("--k", type=int, default=100, help="batch size asked for")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument("--strategies", default=",".join(STRATEGIES.names()))
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="skip scikit-activeml's implementations")
    parser.add_argument("--coverage", action="store_true",
                        help="also measure what graph_coverage's sampled coverage costs in "
                             "coverage against the exact ball graph")
    args = parser.parse_args(argv)
    if args.peers:
        try:
            import skactiveml  # noqa: F401
        except ImportError:
            parser.error("scikit-activeml is not installed (pip install 'palbench[peers]'), "
                         "or pass --no-peers")
    data = load(args.dataset, args.n, args.dims)
    print(f"{args.dataset}: pool N = {data.n_pool:,} x {data.X.shape[1]} features, "
          f"{args.answered} answered, k = {args.k}, {args.threads} thread(s)")
    print(f"{'strategy':<16} {'first call':>11} {'median next':>12} {'skactiveml':>11} "
          f"{'ratio':>6}")
    with limited_threads(args.threads):
        for name in args.strategies.split(","):
            first, median, peer = time_strategy(data, name, args.answered, args.k,
                                                args.repeat, args.peers)
            theirs = f"{peer:>10.2f}s {median / peer:>5.2f}x" if peer else f"{'-':>11}"
            print(f"{name:<16} {first:>10.2f}s {median:>11.2f}s {theirs}", flush=True)
        if args.coverage:
            coverage_price(data, args.answered, args.k)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()

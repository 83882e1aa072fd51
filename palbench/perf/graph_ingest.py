"""SimilarityGraph ingest rate and memory at N = 1,000,000 samples.

    python -m palbench.perf.graph_ingest [--n 1000000] [--answers 1000000] [--repeat 3]

Prints answers per second for exact and noisy pair answers at several batch sizes (median of
--repeat runs), the same answers through a plain-Python union-find (the obvious hand-written
alternative) side by side as a ratio, the graph's array memory and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from palbench.graph import SimilarityGraph


def answers(n: int, m: int, n_classes: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    same = y[a] == y[b]
    flip = rng.random(m) < noise
    return a, b, same ^ flip


def ingest(n, n_classes, a, b, same, batch):
    graph = SimilarityGraph(n, n_classes)
    start = time.perf_counter()
    for s in range(0, len(a), batch):
        graph.add_pairs(a[s:s + batch], b[s:s + batch], same[s:s + batch])
    return time.perf_counter() - start, graph


def python_union_find(a, b, same):
    """Plain Python: union-find with path halving, negatives as a set of root pairs."""
    parent: dict[int, int] = {}
    negatives: set[tuple[int, int]] = set()

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    start = time.perf_counter()
    for x, y, s in zip(a.tolist(), b.tolist(), same.tolist()):
        rx, ry = find(x), find(y)
        if s and rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
        elif not s:
            negatives.add((min(rx, ry), max(rx, ry)))
    return time.perf_counter() - start


def graph_bytes(graph: SimilarityGraph) -> int:
    return sum(v.nbytes for v in vars(graph).values() if isinstance(v, np.ndarray)) + \
        sum(x.nbytes for log in (graph._log_a, graph._log_b, graph._log_same) for x in log)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"N = {args.n:,} samples, {args.classes} classes, {args.answers:,} pair answers")
    for noise in (0.0, 0.1):
        a, b, same = answers(args.n, args.answers, args.classes, noise)
        for batch in (10_000, 100_000, 1_000_000):
            times = []
            for _ in range(args.repeat):
                seconds, graph = ingest(args.n, args.classes, a, b, same, batch)
                times.append(seconds)
            median = statistics.median(times)
            stats = graph.stats()
            print(f"noise {noise:.1f}  batch {batch:>9,}: {args.answers / median:>12,.0f} "
                  f"answers/s  (median {median:.2f} s; {stats.n_components:,} components, "
                  f"{stats.n_conflicts:,} conflicts, graph arrays {graph_bytes(graph) / 2**20:.0f}"
                  f" MiB)")
        m = min(args.answers, 200_000)
        python_s = python_union_find(a[:m], b[:m], same[:m])
        ours_s, _ = ingest(args.n, args.classes, a[:m], b[:m], same[:m], m)
        print(f"noise {noise:.1f}  side by side on {m:,} answers: plain-Python union-find "
              f"{m / python_s:,.0f} answers/s, SimilarityGraph {m / ours_s:,.0f} answers/s "
              f"(ratio {python_s / ours_s:.1f}x; the Python one resolves no conflicts)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()

"""ProbCover-style coverage: the purity rule for delta, the sparse ball graph, greedy coverage."""

from __future__ import annotations

import numpy as np

from palbench.strategies.graph_coverage import ball_graph, coverage_select, purity_delta


def three_clusters(rng, sizes=(60, 30, 10)):
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.vstack([c + rng.normal(0, 0.5, (n, 2)) for c, n in zip(centres, sizes)])


def test_purity_delta_sits_between_cluster_spread_and_gap(rng):
    Z = three_clusters(rng)
    delta = purity_delta(Z, 3, 0.95)
    assert 0.5 < delta < 10


def test_ball_graph_is_symmetric_sparse_and_matches_distances(rng):
    Z = rng.normal(size=(80, 3))
    graph = ball_graph(Z, 1.0)
    dense = (np.linalg.norm(Z[:, None] - Z[None], axis=2) <= 1.0).astype(int)
    np.testing.assert_array_equal(graph.toarray(), dense)
    assert (graph != graph.T).nnz == 0


def test_greedy_covers_one_cluster_per_pick_largest_first(rng):
    Z = three_clusters(rng)
    graph = ball_graph(Z, 3.0)
    picked = coverage_select(graph, np.zeros(len(Z), bool), 3, rng)
    cluster = np.repeat([0, 1, 2], (60, 30, 10))[picked]
    assert list(cluster) == [0, 1, 2]


def test_already_queried_balls_count_as_covered(rng):
    Z = three_clusters(rng)
    graph = ball_graph(Z, 3.0)
    queried = np.zeros(len(Z), bool)
    queried[0] = True  # a sample of the big cluster is known: start elsewhere
    picked = coverage_select(graph, queried, 1, rng)
    assert 60 <= picked[0] < 90

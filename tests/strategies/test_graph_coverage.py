"""ProbCover-style coverage: the purity rule for delta, the sparse ball graph, greedy coverage."""

from __future__ import annotations

import numpy as np

from palbench.strategies import graph_coverage
from palbench.strategies.graph_coverage import (
    ball_graph,
    coverage_select,
    project,
    purity_delta,
)


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


def test_projection_leaves_narrow_data_alone_and_keeps_wide_data_structure(rng):
    narrow = rng.normal(size=(50, 8))
    assert project(narrow, 64) is narrow
    assert project(narrow, 0) is narrow
    # 3 clusters living in 2 of 100 dimensions: the projection keeps them apart
    Z = np.hstack([three_clusters(rng), rng.normal(0, 0.01, (100, 98))]).astype(np.float32)
    P = project(Z, 5)
    assert P.shape == (100, 5) and P.dtype == np.float32
    picked = coverage_select(ball_graph(P, 3.0), np.zeros(len(P), bool), 3, rng)
    assert sorted(np.repeat([0, 1, 2], (60, 30, 10))[picked]) == [0, 1, 2]


def test_purity_estimated_from_a_sample_on_large_pools(rng, monkeypatch):
    Z = np.vstack([three_clusters(rng, (600, 300, 100))])
    full = purity_delta(Z, 3, 0.9)
    monkeypatch.setattr(graph_coverage, "PURITY_SAMPLE", 300)
    sampled = purity_delta(Z, 3, 0.9)
    assert sampled != full and abs(sampled - full) < 0.25 * full
    assert sampled == purity_delta(Z, 3, 0.9)  # seeded


def test_coverage_on_a_sample_of_points_keeps_every_candidate(rng):
    """Above max_cover the balls count a seeded sample of the points; the picks still come
    from the whole pool and still cover one cluster each, largest first."""
    Z = three_clusters(rng, (600, 300, 100))
    cover = graph_coverage.cover_points(len(Z), 200)
    assert len(cover) == 200 and graph_coverage.cover_points(len(Z), 2000) is None
    graph, members = graph_coverage.delta_graph(Z, 3, 3.0, 0.95, 64, max_cover=200)
    assert graph.shape == (1000, 200) and members.shape == (200, 1000)
    picked = coverage_select(graph, np.zeros(len(Z), bool), 3, rng, members)
    assert list(np.repeat([0, 1, 2], (600, 300, 100))[picked]) == [0, 1, 2]

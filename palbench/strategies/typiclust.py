"""TypiClust (Hacohen, Dekel and Weinshall, ICML 2022), for the cold start: cluster the pool
into (samples asked + batch) clusters, then from the largest clusters that hold no asked sample
take the most typical sample, typicality being the inverse mean distance to its k nearest
neighbours inside the cluster.

As in the authors' code: at most `max_clusters` clusters, k-means up to 50 clusters and
mini-batch k-means above, clusters under `min_cluster_size` samples skipped, k = 20.

On pools larger than `max_candidates` the clusters, their sizes and the typicality are those
of a seeded uniform sample of that many samples (with the samples asked before): TypiClust on
a subsample of the pool, picks among its samples. At 10^6 samples the whole pool's typicality
alone (a k-NN search inside each of 500 clusters of 2,000) took 12 s a round, and scikit-
learn's mini-batch k-means 10 s (each of its steps draws its batch through a cumulative sum
over the whole pool). Declared and measured (`palbench bench scale --typiclust`: the pool
typicality of the picks against the exact ones'); `max_candidates = 0` turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.neighbors import NearestNeighbors

from palbench.fields import param
from palbench.strategies.base import STRATEGIES, random_choice, top_k
from palbench.strategies.space import SpaceStrategy, candidate_sample, space_points

EXACT_KMEANS_UP_TO = 50  # clusters; the TypiClust repository switches to mini-batch above


def typicality(Z: np.ndarray, k: int) -> np.ndarray:
    """1 / (mean distance to the k nearest other points); 1 for a lone point."""
    if len(Z) == 1:
        return np.ones(1)
    k = min(k, len(Z) - 1)
    dist = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)[0]
    return 1.0 / (dist.sum(axis=1) / k + 1e-7)  # column 0 is the point itself (distance 0)


def cluster(Z: np.ndarray, n_clusters: int, seed: int) -> np.ndarray:
    if n_clusters <= EXACT_KMEANS_UP_TO:
        algo = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed)
    else:
        algo = MiniBatchKMeans(n_clusters=n_clusters, batch_size=5000, n_init=1,
                               random_state=seed)
    return algo.fit_predict(Z)


def typiclust_select(Z: np.ndarray, clusters: np.ndarray, queried: np.ndarray, k: int,
                     rng: np.random.Generator, neighbours: int = 20,
                     min_cluster_size: int = 5) -> np.ndarray:
    """k picks: the most typical unasked sample of each of the k largest uncovered clusters;
    at random once no such cluster is left."""
    sizes = np.bincount(clusters).astype(np.int64)
    sizes[np.unique(clusters[queried])] = 0
    sizes[sizes < min_cluster_size] = 0
    available = ~queried
    # the members of each cluster in index order, from one stable sort (not a pass a pick)
    by_cluster = np.argsort(clusters, kind="stable")
    ends = np.cumsum(np.bincount(clusters, minlength=len(sizes)))
    starts = ends - np.bincount(clusters, minlength=len(sizes))
    chosen = []
    for _ in range(min(k, int(available.sum()))):
        if sizes.max() == 0:
            pick = int(random_choice(np.flatnonzero(available), 1, rng)[0])
        else:
            c = int(top_k(sizes, np.arange(len(sizes)), 1, rng)[0])
            members = by_cluster[starts[c]:ends[c]]
            score = typicality(Z[members], neighbours)
            open_ = available[members]
            pick = int(top_k(score[open_], members[open_], 1, rng)[0])
            sizes[c] = 0
        chosen.append(pick)
        available[pick] = False
    return np.array(chosen, dtype=np.int64)


@STRATEGIES.register("typiclust")
@dataclass(frozen=True, kw_only=True)
class TypiClust(SpaceStrategy):
    """Typical samples of the largest uncovered k-means clusters (low budgets)."""

    neighbours: int = param(20, ge=1)  # nearest neighbours of the typicality estimate
    max_clusters: int = param(500, ge=1)  # most k-means clusters
    min_cluster_size: int = param(5, ge=1)  # smallest cluster a pick is drawn from
    # larger pools: clustered and picked from on a seeded sample of this many samples
    max_candidates: int = param(100_000, late=True, ge=0, note="0: the whole pool")

    def select(self, ctx, k, rng):
        Z, _ = space_points(self.space, ctx)
        return self.pick(Z, ctx.queried, k, rng)

    def pick(self, Z: np.ndarray, queried: np.ndarray, k: int,
             rng: np.random.Generator) -> np.ndarray:
        """k picks from the points Z (the asked ones marked), on the candidate sample when
        the pool is larger than max_candidates."""
        rows = candidate_sample(queried, self.max_candidates)
        if rows is not None:
            Z, queried = Z[rows], queried[rows]
        n_clusters = min(int(queried.sum()) + k, self.max_clusters, len(Z))
        clusters = cluster(Z, n_clusters, seed=int(rng.integers(2**31)))
        picks = typiclust_select(Z, clusters, queried, k, rng, self.neighbours,
                                 self.min_cluster_size)
        return picks if rows is None else rows[picks]

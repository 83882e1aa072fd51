"""ProbCover-style coverage (Yehuda et al., NeurIPS 2022): query the samples whose delta-balls
cover the most points not yet covered by the balls of queried samples.

The delta-ball graph is sparse (scikit-learn's chunked radius search, never an N x N matrix) and
is built once per run and space. The default `delta = "auto"` follows ProbCover's purity rule:
cluster the points into as many k-means clusters as there are classes and take the largest delta
for which a fraction `purity` of the balls hold points of one cluster only (estimated from at
most PURITY_SAMPLE seeded balls).

Cost is quadratic in N: points with more than `max_dims` features are first projected onto
their leading principal components (seeded randomized PCA), which cut the Fashion-MNIST graph
(60,000 x 784) from minutes to seconds. Data with at most `max_dims` features is used as is.
On pools larger than `max_cover` the covered mass is counted on a seeded uniform sample of
`max_cover` points (a Monte-Carlo estimate of ProbCover's probability coverage): every sample
stays a candidate, and the radius search shrinks from N x N to N x max_cover (60,000: 8.9 s
to about 1.5 s, see README). On pools larger than `max_candidates` (graph_coverage only), the
whole cover is built on a seeded uniform sample of that many samples (with the samples asked
before the first round): ProbCover on a subsample of the pool, picks among its samples, the
radius and the covered mass estimated on it, on fewer cover points when the balls are so
full that the graph would exceed SAMPLED_ENTRIES entries. Declared and measured (`palbench
bench scale --coverage`: the share of the exact greedy's coverage it reaches);
`max_candidates = 0` turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from palbench.fields import param
from palbench.strategies.base import STRATEGIES, Strategy, random_choice, top_k
from palbench.strategies.space import SpaceStrategy, candidate_sample, space_points

PURITY_SAMPLE = 5000  # balls whose purity is measured; all of them on smaller pools
# most entries of a sampled cover's ball graph (int32 indices and data: 160 MB), reached by
# counting coverage on fewer points when balls are full (pools over max_candidates only)
SAMPLED_ENTRIES = 20_000_000


def project(Z: np.ndarray, max_dims: int, seed: int = 0) -> np.ndarray:
    """The leading `max_dims` principal components of Z (Z itself when it is that small)."""
    if max_dims <= 0 or Z.shape[1] <= max_dims or len(Z) <= max_dims:
        return Z
    pca = PCA(n_components=max_dims, svd_solver="randomized", random_state=seed)
    return pca.fit_transform(Z).astype(Z.dtype, copy=False)


def purity_delta(Z: np.ndarray, n_clusters: int, purity: float, seed: int = 0) -> float:
    """Largest radius at which a fraction `purity` of the delta-balls stay inside one cluster."""
    labels = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit_predict(Z)
    measured = np.arange(len(Z))
    if len(Z) > PURITY_SAMPLE:
        measured = np.sort(np.random.default_rng(seed).choice(len(Z), PURITY_SAMPLE,
                                                              replace=False))
    nearest_other = np.empty(len(measured))
    for c in np.unique(labels):
        inside = labels[measured] == c
        if not inside.any():
            continue
        nn = NearestNeighbors(n_neighbors=1).fit(Z[labels != c])
        nearest_other[inside] = nn.kneighbors(Z[measured[inside]])[0][:, 0]
    delta = float(np.quantile(nearest_other, 1.0 - purity))
    if delta <= 0:  # duplicated points across clusters: fall back to the typical spacing
        delta = float(np.median(NearestNeighbors(n_neighbors=2).fit(Z).kneighbors(Z)[0][:, 1]))
    return max(delta, 1e-12)


def ball_graph(Z: np.ndarray, delta: float, cover: np.ndarray | None = None) -> sp.csr_matrix:
    """Sparse 0/1 matrix: A[i, j] = 1 when ||z_i - c_j|| <= delta, the c_j being the points
    Z[cover] to cover (all of Z when None: then A is symmetric, self included)."""
    points = Z if cover is None else Z[cover]
    graph = NearestNeighbors(radius=delta).fit(points).radius_neighbors_graph(
        Z, mode="connectivity")
    graph = graph.tocsr().astype(np.int32)
    if cover is None:
        graph.setdiag(1)
    return graph


def cover_points(n: int, max_cover: int, seed: int = 0) -> np.ndarray | None:
    """The points whose coverage is counted: all (None) up to max_cover, else a seeded
    uniform sample of max_cover of them."""
    if max_cover <= 0 or n <= max_cover:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, max_cover, replace=False))


def affordable_cover(Z: np.ndarray, delta: float, max_cover: int, max_entries: int,
                     seed: int = 0) -> int:
    """max_cover, or fewer cover points when balls of radius delta are so full that the graph
    would hold more than max_entries entries (estimated on 1,000 seeded balls)."""
    n_cover = min(max_cover, len(Z)) if max_cover > 0 else len(Z)
    if max_entries <= 0:
        return max_cover
    probe = np.random.default_rng([seed, 0xBA11]).choice(len(Z), min(1000, len(Z)),
                                                          replace=False)
    points = Z[cover_points(len(Z), n_cover, seed)] if n_cover < len(Z) else Z
    found = NearestNeighbors(radius=delta).fit(points).radius_neighbors(
        Z[probe], return_distance=False)
    share = max(np.mean([len(f) for f in found]) / len(points), 1e-12)
    fits = int(max_entries / (len(Z) * share))
    return max_cover if fits >= n_cover else max(100, fits)


def delta_graph(Z: np.ndarray, n_classes: int, delta: float | str, purity: float,
                max_dims: int, max_cover: int = 0,
                max_entries: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The ball graph of a space (projected first when it is wide, delta chosen when "auto")
    and its transpose: which balls hold each point to cover. With `max_entries`, fewer points
    to cover when the balls are so full that the graph would hold more entries."""
    Z = project(Z, max_dims)
    if delta == "auto":
        delta = purity_delta(Z, n_classes, purity)
    max_cover = affordable_cover(Z, delta, max_cover, max_entries)
    graph = ball_graph(Z, delta, cover_points(len(Z), max_cover))
    return graph, (graph if graph.shape[0] == graph.shape[1] else graph.T.tocsr())


def coverage_select(graph: sp.csr_matrix, queried: np.ndarray, k: int,
                    rng: np.random.Generator,
                    members: sp.csr_matrix | None = None) -> np.ndarray:
    """Greedy max-coverage: k picks, each covering the most points still uncovered.

    `graph` is the N x M ball matrix, `members` its transpose (the graph itself when square:
    symmetric)."""
    members = graph if members is None else members
    candidates = np.flatnonzero(~queried)
    k = min(k, len(candidates))
    covered = np.asarray(graph[queried].sum(axis=0)).ravel() > 0
    gain = graph @ (~covered).astype(np.int64)  # uncovered points in each ball
    available = ~queried
    chosen = []
    for _ in range(k):
        pick = int(top_k(gain[available], np.flatnonzero(available), 1, rng)[0])
        chosen.append(pick)
        available[pick] = False
        ball = graph.indices[graph.indptr[pick]:graph.indptr[pick + 1]]
        newly = ball[~covered[ball]]
        if len(newly):
            covered[newly] = True
            gain -= np.asarray(members[newly].sum(axis=0)).ravel()
    return np.array(chosen, dtype=np.int64)


@dataclass(frozen=True, kw_only=True)
class CoverageParams(Strategy):
    """The parameters of a delta-ball cover, shared by graph_coverage and pal_coverage."""

    # ball radius, or "auto": the largest keeping balls `purity` pure
    delta: float | str = param("auto", gt=0, choices=("auto",))
    # with delta = "auto": the share of pure balls required
    purity: float = param(0.95, gt=0, lt=1)
    # wider data is projected on its leading principal components
    max_dims: int = param(64, ge=0, note="0: never project")
    # larger pools count coverage on a seeded sample of this many points
    max_cover: int = param(10000, ge=0, note="0: count every point")

    def ball_graph_of(self, Z: np.ndarray, n_classes: int, max_entries: int = 0):
        """The ball graph of the points Z with these parameters (see delta_graph)."""
        return delta_graph(Z, n_classes, self.delta, self.purity, self.max_dims,
                           self.max_cover, max_entries)


@STRATEGIES.register("graph_coverage")
@dataclass(frozen=True, kw_only=True)
class GraphCoverage(CoverageParams, SpaceStrategy):
    """Max coverage of delta-balls in feature space or in the learner's embedding."""

    # larger pools: the cover is built on a seeded sample of this many samples
    max_candidates: int = param(50_000, late=True, ge=0, note="0: every sample is a candidate")

    def select(self, ctx, k, rng):
        Z, key = space_points(self.space, ctx)
        key = ("graph_coverage", self.delta, self.purity, self.max_dims, self.max_cover,
               self.max_candidates, *key)
        if key not in ctx.cache:
            for stale in [k_ for k_ in ctx.cache if k_[:1] == ("graph_coverage",)]:
                del ctx.cache[stale]  # a new embedding: the old space's graph is dead weight
            rows = candidate_sample(ctx.queried, self.max_candidates)
            ctx.cache[key] = (rows, self.ball_graph_of(Z, ctx.n_classes) if rows is None else
                              self.ball_graph_of(Z[rows], ctx.n_classes, SAMPLED_ENTRIES))
        rows, (graph, members) = ctx.cache[key]
        if rows is None:
            return coverage_select(graph, ctx.queried.copy(), k, rng, members)
        picks = rows[coverage_select(graph, ctx.queried[rows], k, rng, members)]
        short = min(k, int((~ctx.queried).sum())) - len(picks)
        if short > 0:  # the sample ran out of candidates: the rest at random
            rest = np.setdiff1d(np.flatnonzero(~ctx.queried), picks)
            picks = np.concatenate([picks, random_choice(rest, short, rng)])
        return picks

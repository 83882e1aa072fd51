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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from palbench.errors import check
from palbench.strategies.base import STRATEGIES, Strategy, top_k

PURITY_SAMPLE = 5000  # balls whose purity is measured; all of them on smaller pools


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


def ball_graph(Z: np.ndarray, delta: float) -> sp.csr_matrix:
    """Sparse symmetric 0/1 matrix: A[i, j] = 1 when ||z_i - z_j|| <= delta (self included)."""
    graph = NearestNeighbors(radius=delta).fit(Z).radius_neighbors_graph(Z, mode="connectivity")
    graph = graph.tocsr().astype(np.int32)
    graph.setdiag(1)
    return graph


def delta_graph(Z: np.ndarray, n_classes: int, delta: float | str, purity: float,
                max_dims: int) -> sp.csr_matrix:
    """The ball graph of a space, projected first when it is wide, delta chosen when "auto"."""
    Z = project(Z, max_dims)
    if delta == "auto":
        delta = purity_delta(Z, n_classes, purity)
    return ball_graph(Z, delta)


def coverage_select(graph: sp.csr_matrix, queried: np.ndarray, k: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Greedy max-coverage: k picks, each covering the most points still uncovered."""
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
            gain -= np.asarray(graph[newly].sum(axis=0)).ravel()
    return np.array(chosen, dtype=np.int64)


@STRATEGIES.register("graph_coverage")
@dataclass(frozen=True)
class GraphCoverage(Strategy):
    """Max coverage of delta-balls in feature space or in the learner's embedding."""

    delta: float | str = "auto"
    purity: float = 0.95
    space: str = "features"
    max_dims: int = 64

    def validate(self, where):
        check(self.delta == "auto" or (isinstance(self.delta, float) and self.delta > 0),
              f"{where}.delta", self.delta, "must be a positive number or \"auto\"")
        check(0.0 < self.purity < 1.0, f"{where}.purity", self.purity,
              "must be between 0 and 1 (exclusive)")
        check(self.space in ("features", "embedding"), f"{where}.space", self.space,
              "must be \"features\" or \"embedding\"")
        check(self.max_dims >= 0, f"{where}.max_dims", self.max_dims,
              "must be >= 0 (0: never project)")

    @property
    def needs_model(self) -> bool:
        return self.space == "embedding"

    def points(self, ctx) -> tuple[np.ndarray, object]:
        """The space to cover and a cache key (the embedding changes with every fit)."""
        if self.space == "embedding" and ctx.model is not None:
            Z = ctx.model.embed(ctx.X)
            if Z is not None:
                return Z, ("embedding", ctx.model_version)
        return ctx.X, ("features",)

    def select(self, ctx, k, rng):
        Z, key = self.points(ctx)
        key = ("graph_coverage", self.delta, self.purity, self.max_dims, *key)
        if key not in ctx.cache:
            ctx.cache = {k_: v for k_, v in ctx.cache.items() if k_[:1] != ("graph_coverage",)}
            ctx.cache[key] = delta_graph(Z, ctx.n_classes, self.delta, self.purity,
                                         self.max_dims)
        return coverage_select(ctx.cache[key], ctx.queried.copy(), k, rng)

"""Core-Set (Sener and Savarese, ICLR 2018): k-center greedy. Each pick is the sample farthest
from every sample asked so far and every pick before it, so the batch covers the pool in the
minimax sense.

Memory is O(N): the first distances come from scikit-learn's chunked
`pairwise_distances_argmin_min`, each pick then updates them with one pass over the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min

from palbench.strategies.base import STRATEGIES, random_choice, top_k
from palbench.strategies.space import SpaceStrategy, space_points


def k_center_greedy(Z: np.ndarray, centers: np.ndarray, available: np.ndarray, k: int,
                    rng: np.random.Generator) -> np.ndarray:
    """k picks among `available` (bool mask), each farthest from `centers` (bool mask) and the
    picks before it; with no centers the first pick is uniform at random."""
    available = available.copy()
    k = min(k, int(available.sum()))
    dist = None
    if centers.any():
        dist = pairwise_distances_argmin_min(Z, Z[centers])[1]
    chosen = []
    for _ in range(k):
        candidates = np.flatnonzero(available)
        if dist is None:
            pick = int(random_choice(candidates, 1, rng)[0])
        else:
            pick = int(top_k(dist[candidates], candidates, 1, rng)[0])
        chosen.append(pick)
        available[pick] = False
        to_pick = np.sqrt(((Z - Z[pick]) ** 2).sum(axis=1))
        dist = to_pick if dist is None else np.minimum(dist, to_pick)
    return np.array(chosen, dtype=np.int64)


@STRATEGIES.register("coreset")
@dataclass(frozen=True)
class CoreSet(SpaceStrategy):
    """k-center greedy in feature space, the model's embedding or the pretrained embedding."""

    space: str = "features"

    def select(self, ctx, k, rng):
        Z, _ = space_points(self.space, ctx)
        return k_center_greedy(Z, ctx.queried, ~ctx.queried, k, rng)

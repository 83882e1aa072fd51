"""BADGE (Ash et al., ICLR 2020): k-means++ seeding on gradient embeddings.

A sample's gradient embedding is the gradient of the cross-entropy at the model's own
prediction with respect to the last layer's weights: g = (p - onehot(argmax p)) (x) h, with h
the last layer's input (the penultimate features of `mlp` and `pal`, the input features of a
linear scikit-learn model). g has C x D entries, but every distance the seeding needs factors:
<g_i, g_j> = <r_i, r_j> <h_i, h_j> with r = p - onehot. So the N x C x D array is never built
(60,000 x 10 x 128 floats would be 300 MB); each pick costs O(N (C + D)). The features H stay
in their own dtype (float32 for palbench's pools: one matrix-vector product a pick, and no
float64 copy of the pool); the residuals and the distances are float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.strategies.base import STRATEGIES, Strategy, random_choice, top_k


def residuals(proba: np.ndarray) -> np.ndarray:
    """p - onehot(argmax p): the softmax cross-entropy gradient at the predicted class."""
    r = np.array(proba, dtype=np.float64)
    r[np.arange(len(r)), r.argmax(axis=1)] -= 1.0
    return r


def gradient_embedding(H: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """The explicit N x (C * D) embedding (for checks and small pools)."""
    r = residuals(proba)
    return (r[:, :, None] * np.asarray(H, dtype=np.float64)[:, None, :]).reshape(len(r), -1)


def squared_distances_to(j: int, r: np.ndarray, H: np.ndarray,
                         sq_norm: np.ndarray) -> np.ndarray:
    """||g_i - g_j||^2 for every i, from the factors: |g_i|^2 + |g_j|^2 - 2 <r_i,r_j><h_i,h_j>."""
    cross = r @ r[j]  # (sq_norm + sq_norm[j]) - (2 <r_i,r_j>) <h_i,h_j>, in that order,
    cross *= 2.0  # computed in place: a pick makes 2 arrays of N, not 5
    cross *= H @ H[j]  # in H's dtype
    total = sq_norm + sq_norm[j]
    total -= cross
    return total


def draw_proportional(weight: np.ndarray, total: float, rng: np.random.Generator) -> int:
    """rng.choice(len(weight), p=weight / total), computed as numpy computes it (the same
    draw, pinned by a test) without its checks of p, which were a third of a pick's passes
    over a 10^6-sample pool."""
    cdf = np.divide(weight, total)
    np.cumsum(cdf, out=cdf)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def badge_select(H: np.ndarray, proba: np.ndarray, candidates: np.ndarray, k: int,
                 rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding among the candidates' gradient embeddings: the largest gradient
    first, then each pick drawn with probability proportional to its squared distance to the
    nearest pick so far."""
    k = min(k, len(candidates))
    H = np.asarray(H)
    if H.dtype not in (np.float32, np.float64):
        H = H.astype(np.float64)
    r = residuals(proba)
    sq_norm = (r * r).sum(axis=1) * np.einsum("ij,ij->i", H, H, dtype=np.float64)
    picked = np.zeros(len(candidates), dtype=bool)
    chosen: list[int] = []
    d2 = None
    for _ in range(k):
        if d2 is None:
            j = int(top_k(sq_norm, np.arange(len(candidates)), 1, rng)[0])
        else:
            weight = np.clip(d2, 0.0, None)
            weight[picked] = 0.0
            total = weight.sum()
            if total > 0:
                j = draw_proportional(weight, total, rng)
            else:  # every remaining gradient coincides with a pick: uniform
                j = int(random_choice(np.flatnonzero(~picked), 1, rng)[0])
        chosen.append(j)
        picked[j] = True
        to_j = squared_distances_to(j, r, H, sq_norm)
        d2 = to_j if d2 is None else np.minimum(d2, to_j, out=d2)
    return candidates[np.array(chosen, dtype=np.int64)]


@STRATEGIES.register("badge")
@dataclass(frozen=True)
class Badge(Strategy):
    """Diverse, uncertain batches: k-means++ on last-layer gradient embeddings."""

    needs_model = True

    def requires(self):
        return frozenset({"last_layer"})

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if ctx.model is None or "last_layer" not in ctx.model.offers:
            return random_choice(candidates, k, rng)  # cold start, or one class known yet
        H, proba = ctx.model.last_layer(ctx.X[candidates])
        return badge_select(H, proba, candidates, k, rng)

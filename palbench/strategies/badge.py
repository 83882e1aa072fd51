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

DRAW_BLOCK = 4096  # rows a block of the two-level proportional draw
DENSE_SHARE = 0.3  # a pick that must compute more rows than this share computes them all


def residuals(proba: np.ndarray) -> np.ndarray:
    """p - onehot(argmax p): the softmax cross-entropy gradient at the predicted class."""
    r = np.array(proba, dtype=np.float64)
    r[np.arange(len(r)), r.argmax(axis=1)] -= 1.0
    return r


def draw_proportional(weight: np.ndarray, rng: np.random.Generator,
                      block: int = DRAW_BLOCK) -> int:
    """An index drawn with probability proportional to `weight` (non-negative, not all 0),
    by inverse CDF in two levels: the blocks' sums (a vectorised pass) locate the block, and
    a cumulative sum inside that one block the index. numpy's choice(p=...) takes a
    sequential cumulative sum of all N and three more passes: 6 of a pick's 24 ms at 10^6
    samples. A zero weight is never drawn."""
    n = len(weight)
    whole = n - n % block
    sums = weight[:whole].reshape(-1, block).sum(axis=1)
    if whole < n:
        sums = np.append(sums, weight[whole:].sum())
    cumulative = np.cumsum(sums)
    u = rng.random() * cumulative[-1]
    b = min(int(cumulative.searchsorted(u, side="right")), len(sums) - 1)
    while sums[b] == 0:  # u at the very top: rounding put it past the last block with weight
        b -= 1
    start = b * block
    inside = np.cumsum(weight[start:start + block])
    i = int(inside.searchsorted(u - (cumulative[b - 1] if b else 0.0), side="right"))
    if i >= len(inside) or weight[start + i] == 0:  # the block's two sums differ in rounding
        i = int(np.flatnonzero(weight[start:start + block])[-1])
    return start + i


def badge_select(H: np.ndarray, proba: np.ndarray, candidates: np.ndarray, k: int,
                 rng: np.random.Generator, rows: np.ndarray | None = None,
                 prune: bool = True) -> np.ndarray:
    """k-means++ seeding among the candidates' gradient embeddings: the largest gradient
    first, then each pick drawn with probability proportional to its squared distance to the
    nearest pick so far (kept clipped at 0, and 0 at every pick, so it is the weight as is).

    H and proba hold the candidates' rows, or with `rows` (the candidates' positions in them)
    more rows than that: the pool's, which is cheaper than copying most of it (a candidate
    never differs; another row's weight is 0, so it is never drawn).

    A pick's distance <h_i,h_j> (the pool's features or embedding: most of the bytes read) is
    computed only for the rows it can bring nearer: |<h_i,h_j>| <= |h_i||h_j| bounds the
    distance from below by |g_i|^2 + |g_j|^2 - 2|<r_i,r_j>||h_i||h_j|, widened by the
    rounding of H's dtype; a row whose bound is above its distance so far keeps it. On a
    fitted model about 95% of the rows are skipped. `prune=False` computes every row: the
    same picks (a test compares them)."""
    k = min(k, len(candidates))
    H = np.asarray(H)
    if H.dtype not in (np.float32, np.float64):
        H = H.astype(np.float64)
    r = residuals(proba)
    h_sq = np.einsum("ij,ij->i", H, H, dtype=np.float64)
    sq_norm = (r * r).sum(axis=1) * h_sq
    h_norm = np.sqrt(h_sq, out=h_sq)
    widen = 1.0 + 4.0 * H.shape[1] * np.finfo(H.dtype).eps + 1e-9  # |fl(<h_i,h_j>)| at most
    slack = 1e-12 * float(sq_norm.max(initial=0.0))  # float64's rounding of the bound itself
    r_by_class = np.ascontiguousarray(r.T)  # a product over C rows of N: 2.5x faster at 10^6
    del r
    if rows is None:
        rows = np.arange(len(candidates))
    open_ = np.zeros(len(H), dtype=bool)  # may still be picked
    open_[rows] = True
    chosen: list[int] = []
    d2 = gap = None  # gap: |g_i|^2 - d2_i, kept as d2 changes
    cross, bound = np.empty(len(H)), np.empty(len(H))  # reused: a fresh 8 MB array faults
    for _ in range(k):
        if d2 is None:
            j = int(top_k(sq_norm[rows], rows, 1, rng)[0])
        elif d2.any():
            j = draw_proportional(d2, rng)
        else:  # every remaining gradient coincides with a pick: uniform
            j = int(random_choice(np.flatnonzero(open_), 1, rng)[0])
        chosen.append(j)
        open_[j] = False
        np.matmul(r_by_class.T, 2.0 * r_by_class[:, j], out=cross)  # 2 folded in: exact
        near = None
        if d2 is not None and prune:
            # row i can come nearer only if 2|<r_i,r_j>||h_i||h_j| >= |g_i|^2 + |g_j|^2 - d2_i
            np.abs(cross, out=bound)
            bound *= h_norm
            bound *= h_norm[j] * widen
            bound -= gap
            near = np.flatnonzero(bound >= sq_norm[j] - slack)
            if len(near) > DENSE_SHARE * len(H):
                near = None
        if near is None:  # every row
            to_j = np.add(sq_norm, sq_norm[j], out=bound)
            to_j -= cross * (H @ H[j])
            if d2 is None:
                d2 = np.where(open_, to_j, 0.0)
            else:
                np.minimum(d2, to_j, out=d2)  # a row that is not open stays 0: min, clip
            np.clip(d2, 0.0, None, out=d2)
            d2[j] = 0.0
            gap = np.subtract(sq_norm, d2, out=gap)
        else:
            sq_near = sq_norm[near]  # np.take gathers rows 2x faster than H[near]
            nearer = np.minimum(d2[near], (sq_near + sq_norm[j])
                                - cross[near] * (np.take(H, near, axis=0) @ H[j]))
            np.clip(nearer, 0.0, None, out=nearer)
            d2[near] = nearer
            gap[near] = sq_near - nearer
            d2[j], gap[j] = 0.0, sq_norm[j]
    position = np.full(len(H), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    return candidates[position[np.array(chosen, dtype=np.int64)]]


@STRATEGIES.register("badge")
@dataclass(frozen=True, kw_only=True)
class Badge(Strategy):
    """Diverse, uncertain batches: k-means++ on last-layer gradient embeddings."""

    needs_model = True

    def requires(self):
        return frozenset({"last_layer"})

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if ctx.model is None or "last_layer" not in ctx.model.offers:
            return random_choice(candidates, k, rng)  # cold start, or one class known yet
        if 2 * len(candidates) >= len(ctx.X):  # as predict_rows: the pool beats a copy of it
            H, proba = ctx.model.last_layer(ctx.X)
            return badge_select(H, proba, candidates, k, rng, rows=candidates)
        H, proba = ctx.model.last_layer(ctx.X[candidates])
        return badge_select(H, proba, candidates, k, rng)

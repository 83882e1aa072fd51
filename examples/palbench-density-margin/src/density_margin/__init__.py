"""Density-weighted margin (Settles and Craven 2008, information density): the margin score
of each candidate times its mean similarity to the pool, so that uncertain samples in dense
regions come first and outliers last."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics.pairwise import rbf_kernel

from palbench import Strategy
from palbench.authoring import check, margin_scores, predict_rows, random_choice, top_k


def density(X: np.ndarray, gamma: float, sample: int = 1000) -> np.ndarray:
    """Mean RBF similarity of each point to (a fixed sample of) the pool."""
    rows = np.random.default_rng(0).choice(len(X), size=min(sample, len(X)), replace=False)
    return rbf_kernel(X, X[rows], gamma=gamma).mean(axis=1)


@dataclass(frozen=True, kw_only=True)
class DensityMargin(Strategy):
    """Margin sampling weighted by pool density (beta: the density's exponent)."""

    beta: float = 1.0  # weight of the density term against the margin
    gamma: float = 0.1  # RBF kernel width of the density estimate
    needs_model = True

    def validate(self, where):
        check(self.beta >= 0, f"{where}.beta", self.beta, "must be >= 0")
        check(self.gamma > 0, f"{where}.gamma", self.gamma, "must be positive")

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if ctx.model is None:
            return random_choice(candidates, k, rng)
        if "density" not in ctx.cache:  # the pool does not change during a run
            ctx.cache["density"] = density(ctx.X, self.gamma)
        margin = margin_scores(predict_rows(ctx.model, ctx.X, candidates))
        # margin_scores are -(p1 - p2) in [-1, 0]; shift to (0, 1] before weighting
        score = (1.0 + margin) * ctx.cache["density"][candidates] ** self.beta
        return top_k(score, candidates, k, rng)

"""Uncertainty sampling: ask about the samples the current model is least sure of.

Each strategy has a public score function of the predicted probabilities (higher = more
uncertain) so that it can be used and tested apart from the harness. Before the first model
exists (cold start) the strategies sample at random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.strategies.base import STRATEGIES, Strategy, predict_rows, random_choice, top_k


def least_confident_scores(proba: np.ndarray) -> np.ndarray:
    """1 - max_c p(c|x)."""
    return 1.0 - proba.max(axis=1)


def margin_scores(proba: np.ndarray) -> np.ndarray:
    """-(p_first - p_second): a small gap between the two likeliest classes scores high."""
    top2 = np.partition(proba, -2, axis=1)[:, -2:]
    return -(top2[:, 1] - top2[:, 0])


def entropy_scores(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy of the predicted distribution (natural log)."""
    p = np.clip(proba, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1)


class UncertaintySampling(Strategy):
    needs_model = True
    score = staticmethod(least_confident_scores)

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        if ctx.model is None:
            return random_choice(candidates, k, rng)
        proba = predict_rows(ctx.model, ctx.X, candidates)
        return top_k(self.score(proba), candidates, k, rng)


@STRATEGIES.register("least_confident")
@dataclass(frozen=True, kw_only=True)
class LeastConfident(UncertaintySampling):
    """Lowest top-class probability first."""

    score = staticmethod(least_confident_scores)


@STRATEGIES.register("margin")
@dataclass(frozen=True, kw_only=True)
class Margin(UncertaintySampling):
    """Smallest gap between the two likeliest classes first."""

    score = staticmethod(margin_scores)


@STRATEGIES.register("entropy")
@dataclass(frozen=True, kw_only=True)
class Entropy(UncertaintySampling):
    """Highest predictive entropy first."""

    score = staticmethod(entropy_scores)

"""The space a geometric strategy works in: the dataset's features (a file the user gives
beside the inputs; the inputs themselves when there is none), the raw inputs, the current
model's embedding, or the self-supervised embedding the `pal` learner pretrains on the pool
(ProbCover and TypiClust were designed for such embeddings; it uses no answers, so it is the
same at every round and exists before the first one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.fields import param
from palbench.strategies.base import Strategy

SPACES = ("features", "inputs", "embedding", "pretrained")


def space_requires(space: str) -> frozenset[str]:
    """The learner capability a space needs (checked at config time)."""
    return frozenset({"pool_embedding"}) if space == "pretrained" else frozenset()


@dataclass(frozen=True, kw_only=True)
class SpaceStrategy(Strategy):
    """A strategy that works in a `space`: needs a model only in embedding space, the pool
    embedding only when pretrained."""

    # where distances are taken: features (the dataset's features, else its inputs), inputs,
    # embedding or pretrained
    space: str = param("features", choices=SPACES)

    @property
    def needs_model(self) -> bool:
        return self.space == "embedding"

    def requires(self):
        return space_requires(self.space)


def space_points(space: str, ctx) -> tuple[np.ndarray, tuple]:
    """The points of the pool in `space` and a cache key that changes when they do.

    "features" without a features file are the inputs, and "embedding" before the first
    model (or with a model that has none) is the features.
    """
    if space == "pretrained":
        key = ("pretrained",)
        if key not in ctx.cache:
            ctx.cache[key] = np.ascontiguousarray(ctx.pool_embedding())
        return ctx.cache[key], key
    if space == "embedding" and ctx.model is not None:
        Z = ctx.model.embed(ctx.X)
        if Z is not None:
            return Z, ("embedding", ctx.model_version)
    if space == "inputs" and ctx.inputs is not None:
        return ctx.inputs, ("inputs",)
    if space == "inputs" or ctx.features is None:
        return ctx.X, ("inputs",)
    return ctx.features, ("features",)


def candidate_sample(queried: np.ndarray, max_candidates: int, seed: int = 0) -> np.ndarray | None:
    """The samples a geometric strategy works on when the pool has more than max_candidates
    (graph_coverage's cover, typiclust's clusters): a seeded uniform sample of that many,
    with those already asked; None: the whole pool. The same sample every round."""
    n = len(queried)
    if max_candidates <= 0 or n <= max_candidates:
        return None
    drawn = np.random.default_rng([seed, 0xCA4D]).choice(n, max_candidates, replace=False)
    return np.union1d(drawn, np.flatnonzero(queried))

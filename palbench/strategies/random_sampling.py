"""Passive baseline: uniform sampling without replacement."""

from dataclasses import dataclass

from palbench.strategies.base import STRATEGIES, Strategy, random_choice


@STRATEGIES.register("random")
@dataclass(frozen=True, kw_only=True)
class Random(Strategy):
    """k unqueried samples drawn uniformly at random."""

    def select(self, ctx, k, rng):
        return random_choice(ctx.candidates, k, rng)

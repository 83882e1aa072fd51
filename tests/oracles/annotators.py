"""Annotators for the history tests, importable by path (configs and worker processes name
them "tests.oracles.annotators:Tiring"): one that changes as it works, written as the oracle
guide shows, and oracles that keep state of their own, which the contract refuses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench import Oracle
from palbench.fields import param


@dataclass(frozen=True, kw_only=True)
class Tiring(Oracle):
    """3 s an answer plus 0.5 s per 100 answers already given; wrong more often as it goes."""

    seconds: float = param(3.0, gt=0)  # an answer's seconds when fresh
    slowdown: float = param(0.5, ge=0)  # seconds more per 100 answers already given
    error_growth: float = param(0.002, ge=0, le=0.01)  # error rate added per answer given

    def given(self, queries, history) -> np.ndarray:
        """Answers given before each of these: the run's so far, then the batch's in order."""
        return len(history) + np.arange(len(queries))

    def respond(self, queries, truth, history, rng):
        y = truth.y[queries.indices]
        wrong = rng.random(len(y)) < np.minimum(self.error_growth * self.given(queries, history),
                                                0.5)
        shift = rng.integers(1, truth.n_classes, size=len(y))
        return np.where(wrong, (y + shift) % truth.n_classes, y)

    def charge(self, queries, truth, history, listed):
        return self.seconds + self.slowdown * self.given(queries, history) / 100


COUNT = {"answers": 0}  # module state: what the contract refuses


@dataclass(frozen=True, kw_only=True)
class CountsItself(Oracle):
    """Slows down by a module-level counter of its answers instead of the history handed in."""

    def respond(self, queries, truth, history, rng):
        return truth.y[queries.indices]

    def charge(self, queries, truth, history, listed):
        start = COUNT["answers"]
        COUNT["answers"] += len(queries)
        return 3.0 + 0.005 * (start + np.arange(len(queries)))


@dataclass(frozen=True, kw_only=True)
class ForgetsItself(Oracle):
    """Errs by a module-level counter of its batches: different answers the second time."""

    def respond(self, queries, truth, history, rng):
        COUNT["answers"] += 1
        y = truth.y[queries.indices]
        return (y + COUNT["answers"] % 2) % truth.n_classes

"""Pair oracles: "are these two samples of the same class?" (and captchas, which are several
pairs sharing an anchor)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from palbench.fields import param
from palbench.oracles.base import ORACLES, Oracle, same_class


@ORACLES.register("exact_pair")
@dataclass(frozen=True, kw_only=True)
class ExactPair(Oracle):
    """Always answers whether the two samples share their true class."""

    query_kinds = ("pair",)

    def respond(self, queries, truth, history, rng):
        return same_class(queries, truth.y)


@ORACLES.register("noisy_pair")
@dataclass(frozen=True, kw_only=True)
class NoisyPair(Oracle):
    """Each answer flipped independently with probability `noise` (not transitive)."""

    noise: float = param(0.1, ge=0, le=1)  # probability that an answer is flipped
    query_kinds = ("pair",)

    def respond(self, queries, truth, history, rng):
        flip = rng.random(len(queries)) < self.noise
        return np.where(flip, 1 - same_class(queries, truth.y), same_class(queries, truth.y))


def corrupted_labelling(y: np.ndarray, n_classes: int, n_corrupted: int, seed: int) -> np.ndarray:
    """y with n_corrupted samples moved to a uniformly drawn wrong class (fixed by seed)."""
    rng = np.random.default_rng(seed)
    wrong = y.copy()
    chosen = rng.choice(len(y), size=min(n_corrupted, len(y)), replace=False)
    wrong[chosen] = (y[chosen] + rng.integers(1, n_classes, size=len(chosen))) % n_classes
    return wrong


@ORACLES.register("corrupted_labels")
@dataclass(frozen=True, kw_only=True)
class CorruptedLabels(Oracle):
    """Answers from a fixed corrupted labelling (`n_corrupted` samples relabelled wrongly, drawn
    once per run): wrong but transitive, as in the PAL paper's noise experiment. Answers label
    and pair queries alike."""

    n_corrupted: int = param(0, ge=0)  # samples relabelled wrongly, drawn once per run
    query_kinds = ("label", "pair")

    def labelling(self, truth) -> np.ndarray:
        return corrupted_labelling(truth.y, truth.n_classes, self.n_corrupted,
                                   truth.labelling_seed)

    def respond(self, queries, truth, history, rng):
        labels = self.labelling(truth)
        if queries.kind == "label":
            return labels[queries.indices]
        return same_class(queries, labels)

"""What every learner shares: the registry, the fitted-model interface, the cold-start model.

A learner is a frozen record of hyperparameters; `fit` returns a new fitted Model every time, so
that nothing can leak from one checkpoint's training into the next (scikit-learn's habit).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from palbench.errors import ConfigError
from palbench.registry import Registry

LEARNERS = Registry("learners")

# What a fitted model may offer beyond predict_proba/embed, and what it lets a strategy do:
CAPABILITIES = {
    "last_layer": "give the input of a linear softmax last layer (BADGE's gradient embedding)",
    "sample_proba": "sample predictions by MC dropout (BALD)",
    "pool_embedding": "give a self-supervised embedding of the pool",
    "fit_labels": "be trained on labelled samples alone (a scikit-activeml classifier)",
}


class Model(Protocol):
    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...

    def embed(self, X: np.ndarray) -> np.ndarray | None: ...


class Learner:
    """Base of the learners. Subclasses are dataclasses of their hyperparameters."""

    device_name = "cpu"

    def capabilities(self, data) -> frozenset[str]:
        """The CAPABILITIES its models have on this dataset (strategies check them at config
        time, so that a strategy the learner cannot serve is one line before anything runs)."""
        return frozenset()

    def refuse(self, capability: str, where: str, strategy: str) -> ConfigError:
        """The one-line error for a strategy that needs what this learner cannot do; learners
        that could with other parameters name that parameter instead."""
        return ConfigError(f"{where}.name", self.registry_name,
                           f"cannot {CAPABILITIES[capability]}, which strategy {strategy!r} "
                           "needs")

    def fit(self, data, graph, *, seed: int) -> Model:
        """Train from scratch on the dataset's pool and what the similarity graph knows."""
        raise NotImplementedError


class LabelLearner(Learner):
    """A supervised learner: trains on the samples whose class the graph knows."""

    def capabilities(self, data) -> frozenset[str]:
        return frozenset({"fit_labels"})

    def fit(self, data, graph, *, seed: int) -> Model:
        known = graph.known_labels()
        idx = np.flatnonzero(known >= 0)
        return self.fit_labels(data.X[idx], known[idx], data.n_classes, seed=seed)

    def fit_labels(self, X: np.ndarray, labels: np.ndarray, n_classes: int, *,
                   seed: int) -> Model:
        """Train on X (the labelled samples' features) and labels (0 .. n_classes-1)."""
        raise NotImplementedError


class ClassFrequencyModel:
    """Predicts the class frequencies of the labels seen (uniform when none): the fallback
    while fewer than two classes are known."""

    def __init__(self, labels: np.ndarray, n_classes: int):
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        self.prior = counts / counts.sum() if counts.sum() else np.full(n_classes, 1 / n_classes)

    def predict_proba(self, X):
        return np.tile(self.prior, (len(X), 1))

    def embed(self, X):
        return None

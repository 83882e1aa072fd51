"""What every learner shares: the registry, the fitted-model interface, the cold-start model.

A learner is a frozen record of hyperparameters; `fit` returns a new fitted Model every time, so
that nothing can leak from one checkpoint's training into the next (scikit-learn's habit).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from palbench.registry import Registry

LEARNERS = Registry("learners")


class Model(Protocol):
    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...

    def embed(self, X: np.ndarray) -> np.ndarray | None: ...


class Learner:
    """Base of the learners. Subclasses are dataclasses of their hyperparameters."""

    device_name = "cpu"

    def fit(self, data, graph, *, seed: int) -> Model:
        """Train from scratch on the dataset's pool and what the similarity graph knows."""
        raise NotImplementedError


class LabelLearner(Learner):
    """A supervised learner: trains on the samples whose class the graph knows."""

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

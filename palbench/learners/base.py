"""What every learner shares: the registry, the fitted-model interface, the cold-start model.

A learner is a frozen record of hyperparameters; `fit` returns a new fitted Model every time, so
that nothing can leak from one checkpoint's training into the next (scikit-learn's habit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from palbench.errors import ConfigError
from palbench.fields import param
from palbench.graph_readers import GraphReader
from palbench.protocol import Component, name_of
from palbench.registry import Registry

# What a fitted model may offer beyond predict_proba/embed, and what it lets a strategy do:
CAPABILITIES = {
    "last_layer": "give the input of a linear softmax last layer (BADGE's gradient embedding)",
    "sample_proba": "sample predictions by MC dropout (BALD)",
    "pool_embedding": "give a self-supervised embedding of the pool",
    "fit_labels": "be trained on labelled samples alone (a scikit-activeml classifier)",
}

INPUTS = ("inputs", "features")  # the views of a sample a learner trains on


class Model:
    """A fitted model, as strategies and evaluation use it. Only `predict_proba` is required;
    the others belong to the capabilities its learner declares."""

    pretrain_seconds: float = 0.0  # seconds of self-supervised pretraining inside this fit
    offers: frozenset[str] = frozenset()  # which of last_layer, sample_proba this model has

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(len(X), n_classes) class probabilities, rows summing to 1."""
        raise NotImplementedError(f"{type(self).__name__} must define predict_proba(X)")

    def embed(self, X: np.ndarray) -> np.ndarray | None:
        """A representation of X (len(X), d), or None for a model without one."""
        return None

    def last_layer(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(input of a linear softmax last layer, probabilities): capability "last_layer"."""
        raise NotImplementedError(f"{type(self).__name__} has no last layer")

    def sample_proba(self, X: np.ndarray, n_samples: int, seed: int, *,
                     consistent: bool = False) -> np.ndarray:
        """(n_samples, len(X), n_classes) sampled predictions: capability "sample_proba".
        With `consistent`, sample s is one model for every row and every call with the same
        seed (EPIG joins predictions of candidates and targets)."""
        raise NotImplementedError(f"{type(self).__name__} cannot sample predictions")


@dataclass(frozen=True, kw_only=True)
class Learner(Component):
    """Base of the learners: a frozen keyword-only dataclass of hyperparameters whose `fit`
    returns a new fitted Model every time. `palbench.testing.check_learner` checks a subclass.
    Common parameter: the view of the samples it trains on."""

    kind: ClassVar[str] = "learner"
    # what it trains on: the dataset's inputs, or the features given beside them
    # ([dataset] features); the run's models, strategies and evaluation then see that view
    input: str = param("inputs", late=True, choices=INPUTS)
    device_name: ClassVar[str] = "cpu"  # where it trains (torch learners: a property)

    def capabilities(self, data) -> frozenset[str]:
        """The CAPABILITIES its models have on this dataset (strategies check them at config
        time, so that a strategy the learner cannot serve is one line before anything runs)."""
        return frozenset()

    def refuse(self, capability: str, where: str, strategy: str) -> ConfigError:
        """The one-line error for a strategy that needs what this learner cannot do; learners
        that could with other parameters name that parameter instead."""
        return ConfigError(f"{where}.name", name_of(type(self)),
                           f"cannot {CAPABILITIES[capability]}, which strategy {strategy!r} "
                           "needs")

    def fit(self, data, graph: GraphReader, *, seed: int) -> Model:
        """Train from scratch on the dataset's pool features and what the graph knows
        (`graph.known_labels()`, `graph.signed_block(i)`, ...); never on `data.y`."""
        raise NotImplementedError(f"{type(self).__name__} must define fit(data, graph, *, seed)")

    def fit_batch(self, data, graphs: list[GraphReader], *, seeds: list[int]) -> list[Model]:
        """One model per (graph, seed), each exactly what `fit` gives it: learners that can
        train several models as one batched computation (mlp) override it; by default, one
        fit after another. The lockstep executor hands each checkpoint's fits of a group of
        cells here."""
        return [self.fit(data, graph, seed=seed) for graph, seed in zip(graphs, seeds)]

    def batches_fits(self, data) -> bool:
        """True when fit_batch trains several models on this dataset as one computation
        (worth grouping cells for); by default False, and cells run alone."""
        return False

    def batch_member_bytes(self, data) -> int:
        """Memory one more model of a fit_batch takes at most on this dataset (the batch's
        size is checked against the machine's memory before a run starts)."""
        return 0

    def pool_embedding(self, data, *, seed: int) -> np.ndarray:
        """A self-supervised embedding of the pool (capability "pool_embedding")."""
        raise NotImplementedError(f"{type(self).__name__} gives no pool embedding")


LEARNERS = Registry.for_base(Learner)


class LabelLearner(Learner):
    """A supervised learner: trains on the samples whose class the graph knows."""

    def capabilities(self, data) -> frozenset[str]:
        return frozenset({"fit_labels"})

    def fit(self, data, graph: GraphReader, *, seed: int) -> Model:
        known = graph.known_labels()
        idx = np.flatnonzero(known >= 0)
        return self.fit_labels(data.X[idx], known[idx], data.n_classes, seed=seed)

    def fit_batch(self, data, graphs: list[GraphReader], *, seeds: list[int]) -> list[Model]:
        sets = []
        for graph in graphs:
            known = graph.known_labels()
            idx = np.flatnonzero(known >= 0)
            sets.append((data.X[idx], known[idx]))
        return self.fit_labels_batch(sets, data.n_classes, seeds=seeds)

    def fit_labels(self, X: np.ndarray, labels: np.ndarray, n_classes: int, *,
                   seed: int) -> Model:
        """Train on X (the labelled samples' features) and labels (0 .. n_classes-1)."""
        raise NotImplementedError

    def fit_labels_batch(self, sets: list[tuple[np.ndarray, np.ndarray]], n_classes: int, *,
                         seeds: list[int]) -> list[Model]:
        """One model per (X, labels) set and seed, each exactly what `fit_labels` gives it;
        by default one after another."""
        return [self.fit_labels(X, labels, n_classes, seed=seed)
                for (X, labels), seed in zip(sets, seeds)]


class ClassFrequencyModel(Model):
    """Predicts the class frequencies of the labels seen (uniform when none): the fallback
    while fewer than two classes are known."""

    def __init__(self, labels: np.ndarray, n_classes: int):
        counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
        self.prior = counts / counts.sum() if counts.sum() else np.full(n_classes, 1 / n_classes)

    def predict_proba(self, X):
        return np.tile(self.prior, (len(X), 1))

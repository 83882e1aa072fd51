"""The class head that `pal` and `kernel_pal` share: a logistic regression on the embedding of
the samples whose class the graph knows (class frequencies while fewer than two are known)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from palbench.learners.base import ClassFrequencyModel, Model


class ClassHead:
    """Class probabilities from embeddings; built by `fit_head`, never patched afterwards."""

    def __init__(self, n_classes: int, classifier=None, scaler=None, prior=None):
        self.n_classes, self.classifier, self.scaler, self.prior = \
            n_classes, classifier, scaler, prior

    @property
    def needs_embedding(self) -> bool:
        return self.classifier is not None

    def predict_proba(self, Z: np.ndarray | None, n_rows: int) -> np.ndarray:
        if self.classifier is None:
            return self.prior.predict_proba(np.empty((n_rows, 0)))
        proba = np.zeros((len(Z), self.n_classes))
        proba[:, self.classifier.classes_] = self.classifier.predict_proba(
            self.scaler.transform(Z))
        return proba


def fit_head(Z: np.ndarray, known: np.ndarray, n_classes: int, seed: int) -> ClassHead:
    """Logistic regression on the embeddings of known-class samples.

    The scaler is fitted on the whole pool (no labels involved): fitted on the known samples
    only, a direction that is nearly constant on them gets blown up on the rest.
    """
    idx = np.flatnonzero(known >= 0)
    if len(np.unique(known[idx])) < 2:
        return ClassHead(n_classes, prior=ClassFrequencyModel(known[idx], n_classes))
    scaler = StandardScaler().fit(Z)
    with warnings.catch_warnings():  # an unconverged head is still a usable head
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier = LogisticRegression(max_iter=500, random_state=seed).fit(
            scaler.transform(Z[idx]), known[idx])
    return ClassHead(n_classes, classifier, scaler)


class HeadModel(Model):
    """A fitted representation learner: `embed(X)` from the subclass, class probabilities
    from its `head` (a ClassHead)."""

    head: ClassHead

    def embed(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Z = self.embed(X) if self.head.needs_embedding else None
        return self.head.predict_proba(Z, len(X))

"""What a checkpoint measures of a fitted model: test accuracy, class-balanced scores and the
linear probe on its embedding."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from palbench.datasets import Dataset
from palbench.errors import TrainingDiverged

PROBE_SAMPLES = 10_000  # the probe's training set is capped (stratified, fixed per dataset)


@dataclass(frozen=True)
class Scores:
    """A checkpoint's measures of one model, and the probabilities they came from (what
    stopping criteria observe). Each metric field of `results.schema.Checkpoint` is a field
    here of the same name, which the loop copies by name: a new metric is its declaration
    there and its computation here."""

    proba: np.ndarray
    task_acc: float
    balanced_acc: float
    macro_f1: float
    probe_acc: float | None


def evaluate(model, data: Dataset, probe: bool) -> Scores:
    """The model on the test set; non-finite probabilities are a TrainingDiverged."""
    proba = model.predict_proba(data.X_test)
    if not np.isfinite(proba).all():
        raise TrainingDiverged("gave non-finite probabilities (training diverged: a "
                               "smaller learning rate?)")
    predicted = proba.argmax(axis=1)
    balanced, macro = class_balanced_scores(data.y_test, predicted, data.n_classes)
    return Scores(proba, float((predicted == data.y_test).mean()), balanced, macro,
                  probe_accuracy(model, data) if probe else None)


def probe_rows(y: np.ndarray) -> np.ndarray:
    """Which training samples fit the probe: all of them up to PROBE_SAMPLES, else a fixed
    stratified subset. A logistic probe on all 60,000 Fashion-MNIST embeddings took ~7 s a
    checkpoint, most of a run; 10,000 samples pin a linear read-out of 10 classes just as well."""
    if len(y) <= PROBE_SAMPLES:
        return np.arange(len(y))
    keep, _ = train_test_split(np.arange(len(y)), train_size=PROBE_SAMPLES, stratify=y,
                               random_state=0)
    return np.sort(keep)


def probe_accuracy(model, data: Dataset) -> float | None:
    """Linear probe on the frozen representation, fitted on the training labels (probe_rows)."""
    rows = probe_rows(data.y)
    Z = model.embed(data.X[rows])
    if Z is None:
        return None
    if not np.isfinite(Z).all():
        raise TrainingDiverged("gave a non-finite embedding (training diverged: a "
                               "smaller learning rate?)")
    scaler = StandardScaler().fit(Z)
    with warnings.catch_warnings():  # an unconverged probe is still a usable probe
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe = LogisticRegression(max_iter=300).fit(scaler.transform(Z), data.y[rows])
    return float((probe.predict(scaler.transform(model.embed(data.X_test))) == data.y_test).mean())


def class_balanced_scores(y: np.ndarray, predicted: np.ndarray, n_classes: int):
    """Balanced accuracy (mean recall over the test set's classes) and macro-F1 over every
    class (0 for a class neither present nor predicted): what accuracy hides on imbalanced
    data. From one confusion matrix: scikit-learn's scorers took half a run's time at one
    sample a round (`palbench bench overhead --versus-hand-loop`)."""
    confusion = np.bincount(y * n_classes + predicted,
                            minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    hits, support, said = np.diag(confusion), confusion.sum(axis=1), confusion.sum(axis=0)
    present = support > 0
    balanced = float((hits[present] / support[present]).mean())
    both = support + said
    f1 = np.divide(2 * hits, both, out=np.zeros(n_classes), where=both > 0)
    return balanced, float(f1.mean())

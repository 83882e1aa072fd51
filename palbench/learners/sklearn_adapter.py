"""`sklearn`: any scikit-learn classifier by import path, so that palbench and its peers can be
compared on identical learners."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field

import numpy as np

from palbench.errors import ConfigError
from palbench.learners.base import LEARNERS, ClassFrequencyModel, LabelLearner


def import_class(path: str, field_name: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ConfigError(field_name, path, "must be a dotted import path like "
                          "'sklearn.linear_model.LogisticRegression'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(field_name, path, f"cannot import it ({exc})") from None
    if not (inspect.isclass(cls) and hasattr(cls, "fit") and hasattr(cls, "predict_proba")):
        raise ConfigError(field_name, path, "must be a classifier class with predict_proba")
    return cls


class SklearnModel:
    """A fitted estimator whose probabilities are laid out over all n_classes columns."""

    def __init__(self, estimator, n_classes: int):
        self.estimator, self.n_classes = estimator, n_classes

    def predict_proba(self, X):
        proba = np.zeros((len(X), self.n_classes))
        proba[:, self.estimator.classes_] = self.estimator.predict_proba(X)
        return proba

    def embed(self, X):
        return None


@LEARNERS.register("sklearn")
@dataclass(frozen=True)
class Sklearn(LabelLearner):
    """A scikit-learn classifier; `random_state` is set from the run's seed unless given."""

    estimator: str = "sklearn.linear_model.LogisticRegression"
    params: dict = field(default_factory=dict)

    def validate(self, where):
        cls = import_class(self.estimator, f"{where}.estimator")
        try:
            cls(**self.params)
        except TypeError as exc:
            raise ConfigError(f"{where}.params", self.params, str(exc)) from None

    def fit_labels(self, X, labels, n_classes, *, seed):
        if len(np.unique(labels)) < 2:
            return ClassFrequencyModel(labels, n_classes)
        cls = import_class(self.estimator, "learner.estimator")
        params = dict(self.params)
        if "random_state" in inspect.signature(cls).parameters:
            params.setdefault("random_state", seed)
        return SklearnModel(cls(**params).fit(X, labels), n_classes)

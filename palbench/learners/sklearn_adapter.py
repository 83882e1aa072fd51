"""`sklearn`: any scikit-learn classifier by import path, so that palbench and its peers can be
compared on identical learners."""

from __future__ import annotations

import functools
import inspect
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from palbench.errors import ConfigError, TrainingDiverged, first_line
from palbench.fields import param
from palbench.imports import resolve
from palbench.learners.base import LEARNERS, ClassFrequencyModel, LabelLearner, Model


def import_class(path: str, field_name: str, method: str = "predict_proba") -> type:
    cls = resolve(path, field_name)
    if not (inspect.isclass(cls) and hasattr(cls, "fit") and hasattr(cls, method)):
        raise ConfigError(field_name, path, f"must be a classifier class with {method}")
    return cls


def softmax_of_decision(scores: np.ndarray) -> np.ndarray:
    """Class probabilities from decision_function scores: a logistic of the binary score,
    a softmax of one-vs-rest scores. Monotone in the scores, so the most probable class is
    the estimator's own prediction and margins order samples as |score| does."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = np.stack([-scores / 2, scores / 2], axis=1)
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


PREDICT_ROWS = 65536  # rows predicted at a time


class SklearnModel(Model):
    """A fitted estimator whose probabilities are laid out over all n_classes columns. It
    fits and predicts in float64 (palbench holds features as float32 for torch): what
    scikit-learn users and published protocols run, and lbfgs is 12% faster on it."""

    offers = frozenset({"last_layer"})

    def __init__(self, estimator, n_classes: int, from_decision: bool = False):
        self.estimator, self.n_classes = estimator, n_classes
        self.from_decision = from_decision

    def predict_proba(self, X):
        """Rows are predicted a block at a time, each block cast to float64: the same numbers
        as one call on the whole float64 array (rows are independent), without a float64 copy
        of a large pool."""
        proba = np.zeros((len(X), self.n_classes))
        with refusals(self.estimator):
            for start in range(0, len(X), PREDICT_ROWS):
                block = np.asarray(X[start:start + PREDICT_ROWS], dtype=np.float64)
                proba[start:start + len(block), self.estimator.classes_] = \
                    softmax_of_decision(self.estimator.decision_function(block)) \
                    if self.from_decision else self.estimator.predict_proba(block)
        return proba

    def last_layer(self, X):
        """A linear model's last layer reads the input itself (BADGE on linear models)."""
        return X, self.predict_proba(X)


@functools.cache
def takes_random_state(cls: type) -> bool:
    """Whether the estimator takes a random_state (read once per class: inspect.signature
    at every fit was 5% of a one-sample-a-round run)."""
    return "random_state" in inspect.signature(cls).parameters


def is_linear(cls: type) -> bool:
    from sklearn.linear_model._base import LinearClassifierMixin
    return issubclass(cls, LinearClassifierMixin)


@LEARNERS.register("sklearn")
@dataclass(frozen=True, kw_only=True)
class Sklearn(LabelLearner):
    """A scikit-learn classifier; `random_state` is set from the run's seed unless given.
    `probabilities_from = "decision_function"` reads class probabilities off the decision
    scores (a softmax, a logistic for two classes) for estimators used without probability
    calibration, such as the RBF SVC of Zhan et al. and Lu et al.: the predicted class is
    then the estimator's own `predict`, and margins are its decision margins."""
    examples = ({"params": {"max_iter": 300}},)

    # import path of a scikit-learn classifier
    estimator: str = "sklearn.linear_model.LogisticRegression"
    params: dict = field(default_factory=dict)  # its constructor's parameters
    # predict_proba, or decision_function (a softmax of the scores)
    probabilities_from: str = param("predict_proba", late=True,
                                    choices=("predict_proba", "decision_function"))

    @property
    def _from_decision(self) -> bool:
        return self.probabilities_from == "decision_function"

    def validate(self, where):
        """Construct it and let scikit-learn check the parameters (types, ranges, choices)."""
        estimator = self._make(where, seed=0)
        check_params = getattr(estimator, "_validate_params", None)  # scikit-learn >= 1.2
        if check_params is not None:
            try:
                check_params()
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{where}.params", self.params, first_line(exc)) from None

    def validate_data(self, data, where):
        """A fit and a prediction on a tiny sample of the pool, at config time: what fails
        only when fitting (a solver that does not support a penalty, no predict_proba with
        these parameters) is one line before anything runs."""
        estimator = self._make(where, seed=0)
        method = self.probabilities_from
        try:
            getattr(estimator, method)  # available_if: absent for SVC without probability
        except AttributeError:
            hint = " (set probability = true, or probabilities_from = " \
                "'decision_function')" if "probability" in inspect.signature(
                    type(estimator)).parameters else ""
            raise ConfigError(f"{where}.estimator", self.estimator,
                              f"has no {method} with these params{hint}; palbench needs "
                              "class probabilities") from None
        rows = tiny_sample(data.y)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(estimator.fit(data.X[rows], data.y[rows]), method)(data.X[rows])
        except Exception as exc:  # noqa: BLE001  (any failure of a third-party fit is the config's)
            raise ConfigError(f"{where}.params", self.params,
                              f"{self.estimator} cannot fit with these params: "
                              f"{first_line(exc)}") from None

    def capabilities(self, data):
        linear = is_linear(import_class(self.estimator, "learner.estimator",
                                        self.probabilities_from))
        return super().capabilities(data) | ({"last_layer"} if linear else set())

    def _make(self, where: str, seed: int):
        cls = import_class(self.estimator, f"{where}.estimator", self.probabilities_from)
        params = dict(self.params)
        if takes_random_state(cls):
            params.setdefault("random_state", seed)
        try:
            return cls(**params)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}.params", self.params, first_line(exc)) from None

    def fit_labels(self, X, labels, n_classes, *, seed):
        if len(np.unique(labels)) < 2:
            return ClassFrequencyModel(labels, n_classes)
        estimator = self._make("learner", seed)
        with refusals(estimator):
            estimator.fit(np.asarray(X, dtype=np.float64), labels)
        return SklearnModel(estimator, n_classes, self._from_decision)


@contextmanager
def refusals(estimator):
    """A scikit-learn estimator refusing what it is given at some checkpoint (KNN with more
    neighbours than labels) is the config's parameters, not a bug: a TrainingDiverged, one
    line."""
    try:
        yield
    except ValueError as exc:
        raise TrainingDiverged(f"{type(estimator).__name__} refused: "
                               f"{first_line(exc)}") from None


def tiny_sample(y: np.ndarray, per_class: int = 5) -> np.ndarray:
    """The first few samples of every class: a fit that fails on these fails in the run."""
    return np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])

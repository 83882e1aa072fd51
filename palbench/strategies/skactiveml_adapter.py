"""`skactiveml`: any scikit-activeml pool strategy inside palbench's loop, oracles, prices and
store (pip install 'palbench[peers]', scikit-activeml 1.0.1).

    [[strategy]]
    name = "skactiveml"
    query_strategy = "skactiveml.pool.CoreSet"
    params = { }                      # the strategy's constructor arguments
    classifier = "auto"               # "learner", or a scikit-activeml classifier class path
    classifier_params = { }

Each round the strategy is built anew with a random_state drawn from palbench's strategy
stream and asked for k of the unqueried samples (palbench's `candidates`), with y holding the
classes the similarity graph knows (NaN elsewhere). Strategies that need a classifier get one:
"learner" wraps the run's own label learner (`mlp`, `sklearn`) in scikit-activeml's
SklearnClassifier; "auto" (the default) does too, except for the strategies in
NEEDS_CLASSIFIER, which get the scikit-activeml classifier they need. An ensemble (query by
committee, BALD) is a bagging ensemble of 5 of them; a discriminator (DiscriminativeAL) is a
logistic regression. Regression strategies and the wrappers are refused (UNSUPPORTED says why).
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from palbench.errors import ConfigError, check, first_line
from palbench.imports import resolve
from palbench.strategies.base import STRATEGIES, Strategy

# scikit-activeml 1.0.1 single-annotator pool strategies the adapter does not run, and why
UNSUPPORTED = {
    "ExpectedModelChangeMaximization": "a regression strategy (needs a regressor)",
    "ExpectedModelOutputChange": "a regression strategy (needs a regressor)",
    "ExpectedModelVarianceReduction": "a regression strategy (needs a regressor)",
    "GreedySamplingTarget": "a regression strategy (needs a regressor)",
    "KLDivergenceMaximization": "a regression strategy (needs a regressor)",
    "RegressionTreeBasedAL": "a regression strategy (needs a regressor)",
    "ExpectedErrorReduction": "an abstract base (its subclasses MonteCarloEER and "
                              "ValueOfInformationEER run)",
    "ParallelUtilityEstimationWrapper": "a wrapper around another strategy; name that one",
    "SubSamplingWrapper": "a wrapper around another strategy; name that one",
}
# strategies that need a particular scikit-activeml classifier (sample weights, frequency
# estimates, a mixture model): `classifier = "auto"` gives them this one
NEEDS_CLASSIFIER = {
    "EpistemicUncertaintySampling": "skactiveml.classifier.ParzenWindowClassifier",
    "MonteCarloEER": "skactiveml.classifier.ParzenWindowClassifier",
    "ValueOfInformationEER": "skactiveml.classifier.ParzenWindowClassifier",
    "ProbabilisticAL": "skactiveml.classifier.ParzenWindowClassifier",
    "FourDs": "skactiveml.classifier.MixtureModelClassifier",
}
TWO_CLASSES_ONLY = {"EpistemicUncertaintySampling"}
ENSEMBLE_SIZE = 5


class DryRunLearner:
    """What `_dry_run` hands a strategy that takes the run's learner: the learner protocol's
    `fit_labels` over a logistic regression (strategies reach learners only through the
    protocol, never by importing one)."""

    def fit_labels(self, X, y, n_classes, seed):
        from sklearn.linear_model import LogisticRegression

        fitted = LogisticRegression(max_iter=200).fit(X, y)

        class Fitted:
            def predict_proba(self, X):
                proba = np.zeros((len(X), n_classes))
                proba[:, fitted.classes_] = fitted.predict_proba(X)
                return proba
        return Fitted()


class LearnerEstimator(ClassifierMixin, BaseEstimator):
    """A palbench label learner as a scikit-learn classifier over classes 0..n_classes-1."""

    def __init__(self, learner=None, n_classes: int = 2, seed: int = 0):
        self.learner, self.n_classes, self.seed = learner, n_classes, seed

    def fit(self, X, y):
        self.classes_ = np.arange(self.n_classes)
        self.model_ = self.learner.fit_labels(np.asarray(X, dtype=np.float32),
                                              np.asarray(y).astype(np.int64), self.n_classes,
                                              seed=self.seed)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(np.asarray(X, dtype=np.float32))

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def strategy_class(path: str, where: str) -> type:
    from skactiveml.base import SingleAnnotatorPoolQueryStrategy

    cls = resolve(path, f"{where}.query_strategy")
    check(inspect.isclass(cls) and issubclass(cls, SingleAnnotatorPoolQueryStrategy),
          f"{where}.query_strategy", path,
          "must be a scikit-activeml single-annotator pool strategy class "
          "(skactiveml.pool.*)")
    check(cls.__name__ not in UNSUPPORTED, f"{where}.query_strategy", path,
          f"is not supported by the adapter: {UNSUPPORTED.get(cls.__name__)}")
    return cls


def query_arguments(cls: type) -> set[str]:
    return set(inspect.signature(cls.query).parameters)


@STRATEGIES.register("skactiveml")
@dataclass(frozen=True, kw_only=True)
class SkactivemlStrategy(Strategy):
    """Any scikit-activeml pool strategy (query_strategy by import path)."""

    # import path of a scikit-activeml pool strategy
    query_strategy: str = "skactiveml.pool.RandomSampling"
    params: dict = field(default_factory=dict)  # its constructor's parameters
    # "auto": the run's learner wrapped; or a scikit-activeml classifier's import path
    classifier: str = "auto"
    classifier_params: dict = field(default_factory=dict)  # that classifier's parameters

    def validate(self, where):
        try:
            import skactiveml  # noqa: F401
        except ImportError:
            raise ConfigError(f"{where}.name", "skactiveml", "needs scikit-activeml: "
                              "pip install 'palbench[peers]'") from None
        strategy_class(self.query_strategy, where)
        check(isinstance(self.classifier_params, dict), f"{where}.classifier_params",
              self.classifier_params, "must be a table")
        self._dry_run(where)

    def validate_data(self, data, where):
        check(self.short_name not in TWO_CLASSES_ONLY or data.n_classes == 2,
              f"{where}.query_strategy", self.query_strategy,
              f"works on two classes only; {data.name!r} has {data.n_classes}")

    @property
    def short_name(self) -> str:
        return self.query_strategy.rpartition(".")[2]

    @property
    def classifier_path(self) -> str:
        """"learner" or the import path of the scikit-activeml classifier used."""
        if self.classifier != "auto":
            return self.classifier
        return NEEDS_CLASSIFIER.get(self.short_name, "learner")

    @property
    def takes_classifier(self) -> bool:
        args = query_arguments(strategy_class(self.query_strategy, "strategy"))
        return bool(args & {"clf", "ensemble", "estimator"})

    def requires(self):
        if self.classifier_path == "learner" and self.takes_classifier:
            return frozenset({"fit_labels"})
        return frozenset()

    def _dry_run(self, where: str) -> None:
        """A query on a tiny fixed problem, at config time: what scikit-activeml rejects
        (parameter names, types, ranges) is one line before anything runs."""
        rng = np.random.default_rng(0)
        X = rng.normal(size=(40, 3)).astype(np.float32)
        n_classes = 2 if self.short_name in TWO_CLASSES_ONLY else 3
        y = np.full(40, -1)
        y[:9] = np.arange(9) % n_classes
        learner = DryRunLearner()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.query(X, y, np.arange(9, 40), 2, n_classes, learner, 0)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001  (any refusal of a third-party strategy)
            field_, value = ((f"{where}.classifier", self.classifier)
                             if self.classifier != "auto" and "clf" in str(exc)
                             else (f"{where}.params", self.params))
            raise ConfigError(field_, value, f"{self.query_strategy} refused it: "
                              f"{first_line(exc)}") from None

    def classifier_for(self, n_classes: int, learner, seed: int):
        from skactiveml.base import SkactivemlClassifier
        from skactiveml.classifier import SklearnClassifier

        classes = np.arange(n_classes)
        path = self.classifier_path
        if path == "learner":
            base = LearnerEstimator(learner, n_classes, seed)
            return SklearnClassifier(base, classes=classes, random_state=seed)
        cls = resolve(path, "strategy.classifier")
        check(inspect.isclass(cls) and issubclass(cls, SkactivemlClassifier),
              "strategy.classifier", path,
              "must be \"learner\" or a scikit-activeml classifier class")
        try:
            return cls(classes=classes, random_state=seed, **self.classifier_params)
        except (TypeError, ValueError) as exc:
            raise ConfigError("strategy.classifier_params", self.classifier_params,
                              first_line(exc)) from None

    def query(self, X, known, candidates, k, n_classes, learner, seed) -> np.ndarray:
        from skactiveml.classifier import SklearnClassifier
        from sklearn.ensemble import BaggingClassifier
        from sklearn.linear_model import LogisticRegression

        cls = strategy_class(self.query_strategy, "strategy")
        params = dict(self.params)
        accepted = inspect.signature(cls).parameters
        if "random_state" in accepted:
            params.setdefault("random_state", seed)
        if "classes" in accepted:
            params.setdefault("classes", np.arange(n_classes))
        try:
            strategy = cls(**params)
        except (TypeError, ValueError) as exc:
            raise ConfigError("strategy.params", self.params, first_line(exc)) from None
        args = query_arguments(cls)
        extra = {}
        for name in ("clf", "estimator"):
            if name in args:
                extra[name] = self.classifier_for(n_classes, learner, seed)
        if "ensemble" in args:
            member = self.classifier_for(n_classes, learner, seed)
            extra["ensemble"] = SklearnClassifier(
                BaggingClassifier(member.estimator, n_estimators=ENSEMBLE_SIZE,
                                  random_state=seed),
                classes=np.arange(n_classes), random_state=seed)
        if "discriminator" in args:
            extra["discriminator"] = SklearnClassifier(LogisticRegression(max_iter=200),
                                                       classes=[0, 1], random_state=seed)
        y = np.where(known >= 0, known, np.nan).astype(float)
        picked = strategy.query(X, y, candidates=candidates, batch_size=k, **extra)
        return np.asarray(picked, dtype=np.int64)

    def select(self, ctx, k, rng):
        candidates = ctx.candidates
        k = min(k, len(candidates))
        if k == 0:
            return np.empty(0, dtype=np.int64)
        seed = int(rng.integers(2**31))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.query(ctx.X, ctx.graph.known_labels(), candidates, k, ctx.n_classes,
                              ctx.learner, seed)


"""Generated component parameters run to completion (hypothesis): every registered learner,
strategy, oracle and dataset source gets parameters drawn from its own dataclass fields (values
of the declared type, hostile ones among them), and a real run on a tiny dataset ends in
success or in exactly one "palbench: error:" line with exit status 2, never a traceback.
Parameters that only set how much work a run does (epochs, steps, sizes) are drawn small, so
that 300 cases of each kind stay fast; their bad values (0, negative) are drawn all the same."""

from __future__ import annotations

import dataclasses
import tempfile
import types
import typing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from palbench.datasets import DATASETS
from palbench.learners import LEARNERS
from palbench.oracles import ORACLES
from palbench.strategies import STRATEGIES
from tests.test_fuzz import CASES, assert_clean, render, run_cli

WORK = {"epochs", "steps", "min_steps", "batch_size", "hidden", "dim", "n_eigen", "n_samples",
        "n_features", "n_classes", "max_dims", "n_train", "n_test", "captcha", "exemplars",
        "n_corrupted"}
WORDS = ["auto", "cpu", "cuda", "cuda:7", "mlp", "cnn", "features", "embedding",
         "spectral_contrastive", "vicreg", "simclr", "exponential", "gaussian", "", "nope"]
ESTIMATORS = ["sklearn.linear_model.LogisticRegression", "sklearn.svm.SVC",
              "sklearn.neighbors.KNeighborsClassifier", "sklearn.naive_bayes.GaussianNB",
              "sklearn.tree.DecisionTreeClassifier", "sklearn.linear_model.LinearRegression",
              "os.path", "nope.Nope", "LogisticRegression"]
SKLEARN_PARAMS = ["C", "max_iter", "solver", "penalty", "n_neighbors", "probability", "kernel",
                  "gamma", "max_depth", "var_smoothing", "junk"]
ODD_FLOATS = [0.0, 1.0, -1.0, 1e-12, 1e12, float("nan"), float("inf"), float("-inf")]
scalar = st.one_of(st.integers(-3, 40), st.floats(-5, 5), st.booleans(), st.sampled_from(WORDS))


def values_of(tp, name: str):
    """A hypothesis strategy for values of type tp (the field's annotation)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[values_of(a, name) for a in args if a is not type(None)])
    if tp is bool:
        return st.booleans()
    if tp is int:
        small = st.integers(-2, 8 if name != "n_samples" else 160)
        return small if name in WORK else st.one_of(
            small, st.integers(-10, 10**6), st.sampled_from([2**32, 2**63 - 1, 10**11]))
    if tp is float:
        return st.one_of(st.floats(-1, 2), st.sampled_from(ODD_FLOATS))
    if tp is str:
        return st.sampled_from(ESTIMATORS if name == "estimator" else WORDS)
    if origin in (list, tuple):
        inner = args[0] if args else int
        return st.lists(values_of(inner, name), max_size=3)
    if origin is dict or tp is dict:
        if name == "base":  # the oracle wrapped by abstain
            return st.fixed_dictionaries({"name": st.sampled_from(ORACLES.names() + ["x"])},
                                          optional={"noise": st.floats(-1, 2),
                                                    "n_corrupted": st.integers(-2, 20)})
        return st.dictionaries(st.sampled_from(SKLEARN_PARAMS), scalar, max_size=3)
    raise TypeError(f"no generator for {tp!r} ({name})")


def parameters(registry, name: str):
    cls = registry.get(name)
    hints = typing.get_type_hints(cls)
    fields = {f.name: values_of(hints[f.name], f.name) for f in dataclasses.fields(cls)
              if f.init and f.name not in ("path", "data_dir", "label_column")}
    return st.fixed_dictionaries({}, optional=fields)


BASE = {"experiment": {"seeds": [0], "budgets": [2, 6], "batch_size": 2, "probe": True},
        "dataset": {"name": "blobs", "n_samples": 48, "n_features": 3},
        "strategy": {"name": "random"},
        "oracle": {"name": "exact"},
        "learner": {"name": "sklearn"}}
PAIR_ORACLES = {"exact_pair", "noisy_pair", "corrupted_labels"}


@st.composite
def configs(draw, kind: str, registry, names: list[str]) -> str:
    name = draw(st.sampled_from(names))
    config = {k: dict(v) for k, v in BASE.items()}
    config[kind] = {"name": name, **draw(parameters(registry, name))}
    if kind == "strategy" and STRATEGIES.get(name).query_kind == "pair":
        config["oracle"] = {"name": "exact_pair"}
    if kind == "oracle" and name in PAIR_ORACLES and draw(st.booleans()):
        config["strategy"] = {"name": draw(st.sampled_from(["random_pairs", "pal_active"]))}
    if kind == "strategy":  # model-based strategies with each kind of model
        config["learner"] = draw(st.sampled_from([{"name": "sklearn"}, {
            "name": "mlp", "hidden": [8], "epochs": 3, "device": "cpu"}]))
    return render(config)


def run_generated(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, store = Path(folder) / "c.toml", Path(folder) / "s.sqlite"
        path.write_text(text)
        code, err = run_cli(["run", str(path), "--store", str(store), "--quiet"])
        assert_clean(code, err)


KINDS = {"learner": (LEARNERS, LEARNERS.names()),
         "strategy": (STRATEGIES, STRATEGIES.names()),
         "oracle": (ORACLES, ORACLES.names()),
         "dataset": (DATASETS, [n for n in DATASETS.names() if n not in ("csv", "npz")])}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_parameters_run_to_completion(kind):
    registry, names = KINDS[kind]

    @CASES
    @given(text=configs(kind, registry, names))
    def case(text):
        run_generated(text)

    case()

"""Learners: trained from scratch, seeded, probabilities over every class, embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.errors import ConfigError
from palbench.learners.sklearn_adapter import Sklearn
from palbench.learners.supervised import MLP
from palbench.params import build


def accuracy(model, data):
    return (model.predict_proba(data.X_test).argmax(axis=1) == data.y_test).mean()


def test_mlp_learns_and_is_repeatable(blobs):
    learner = MLP(hidden=(32,), epochs=50, device="cpu")
    a = learner.fit_labels(blobs.X, blobs.y, blobs.n_classes, seed=3)
    b = learner.fit_labels(blobs.X, blobs.y, blobs.n_classes, seed=3)
    c = learner.fit_labels(blobs.X, blobs.y, blobs.n_classes, seed=4)
    assert accuracy(a, blobs) > 0.9
    np.testing.assert_array_equal(a.predict_proba(blobs.X_test), b.predict_proba(blobs.X_test))
    assert not np.array_equal(a.predict_proba(blobs.X_test), c.predict_proba(blobs.X_test))
    assert a.embed(blobs.X).shape == (blobs.n_pool, 32)


def test_mlp_with_few_classes_seen_still_gives_every_column(blobs):
    seen = np.flatnonzero(blobs.y == 0)[:5]
    model = MLP(device="cpu").fit_labels(blobs.X[seen], blobs.y[seen], 3, seed=0)
    proba = model.predict_proba(blobs.X_test)
    assert proba.shape == (len(blobs.X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)


def test_no_labels_gives_uniform_prediction(blobs):
    model = MLP(device="cpu").fit_labels(blobs.X[:0], blobs.y[:0], 3, seed=0)
    np.testing.assert_allclose(model.predict_proba(blobs.X_test[:2]), 1 / 3)
    assert model.embed(blobs.X) is None


def test_sklearn_adapter_lays_out_all_classes(blobs):
    keep = np.flatnonzero(blobs.y != 1)[:40]
    model = Sklearn().fit_labels(blobs.X[keep], blobs.y[keep], 3, seed=0)
    proba = model.predict_proba(blobs.X_test)
    assert proba.shape[1] == 3 and (proba[:, 1] == 0).all()
    one_class = Sklearn().fit_labels(blobs.X[:3], np.zeros(3, dtype=int), 3, seed=0)
    np.testing.assert_allclose(one_class.predict_proba(blobs.X_test[:1]), [[1, 0, 0]])


def test_sklearn_adapter_passes_params_and_seed(blobs):
    learner = build(Sklearn, {"estimator": "sklearn.ensemble.RandomForestClassifier",
                              "params": {"n_estimators": 10}}, "learner")
    a = learner.fit_labels(blobs.X, blobs.y, 3, seed=1).predict_proba(blobs.X_test)
    b = learner.fit_labels(blobs.X, blobs.y, 3, seed=1).predict_proba(blobs.X_test)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("table,field", [
    ({"estimator": "LogisticRegression"}, "learner.estimator"),
    ({"estimator": "sklearn.preprocessing.StandardScaler"}, "learner.estimator"),
    ({"params": {"C": 1.0, "bogus": 2}}, "learner.params"),
])
def test_sklearn_bad_estimator(table, field):
    with pytest.raises(ConfigError) as info:
        build(Sklearn, table, "learner")
    assert info.value.field == field


@pytest.mark.parametrize("table,field", [
    ({"hidden": []}, "learner.hidden"), ({"lr": 0}, "learner.lr"),
    ({"device": "tpu"}, "learner.device"), ({"dropout": 1.0}, "learner.dropout"),
])
def test_mlp_bad_params(table, field):
    with pytest.raises(ConfigError) as info:
        build(MLP, table, "learner")
    assert info.value.field == field


@pytest.mark.gpu
def test_mlp_trains_on_cuda(blobs):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    learner = MLP(hidden=(32,), epochs=50, device="auto")
    model = learner.fit_labels(blobs.X, blobs.y, blobs.n_classes, seed=0)
    assert model.device.type == "cuda"
    assert accuracy(model, blobs) > 0.9

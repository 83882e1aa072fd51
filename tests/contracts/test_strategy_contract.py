"""Every registered strategy passes one suite: distinct unqueried indices, the same output for the
same rng, exhaustion handled, a cold start without a model."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.learners.sklearn_adapter import Sklearn
from palbench.params import build
from palbench.strategies import STRATEGIES, QueryContext

NAMES = STRATEGIES.names()


def make_context(data, n_queried: int, with_model: bool) -> QueryContext:
    queried = np.zeros(data.n_pool, dtype=bool)
    queried[np.random.default_rng(1).choice(data.n_pool, n_queried, replace=False)] = True
    ctx = QueryContext(X=data.X, queried=queried, n_classes=data.n_classes)
    if with_model:
        idx = np.flatnonzero(queried)
        ctx.model = Sklearn().fit(data.X[idx], data.y[idx], data.n_classes, seed=0)
        ctx.model_version = 1
    return ctx


def strategy(name):
    return build(STRATEGIES.get(name), {}, "strategy")


@pytest.mark.parametrize("with_model", [False, True], ids=["cold", "model"])
@pytest.mark.parametrize("name", NAMES)
def test_returns_k_distinct_unqueried_indices(name, with_model, blobs):
    ctx = make_context(blobs, 30, with_model)
    picked = strategy(name).select(ctx, 7, np.random.default_rng(3))
    assert picked.dtype.kind == "i"
    assert len(picked) == 7
    assert len(np.unique(picked)) == 7
    assert not ctx.queried[picked].any()
    assert ((picked >= 0) & (picked < blobs.n_pool)).all()


@pytest.mark.parametrize("name", NAMES)
def test_same_rng_gives_same_selection(name, blobs):
    first = strategy(name).select(make_context(blobs, 30, True), 9, np.random.default_rng(5))
    again = strategy(name).select(make_context(blobs, 30, True), 9, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("name", NAMES)
def test_exhaustion_returns_every_remaining_sample(name, blobs):
    ctx = make_context(blobs, blobs.n_pool - 4, True)
    picked = strategy(name).select(ctx, 10, np.random.default_rng(0))
    assert sorted(picked) == sorted(np.flatnonzero(~ctx.queried))


@pytest.mark.parametrize("name", NAMES)
def test_query_kind_is_declared(name):
    assert STRATEGIES.get(name).query_kind in ("label", "pair")

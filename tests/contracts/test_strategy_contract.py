"""Every registered strategy passes one suite, with the real ledger and graph of the loop:
new distinct queries (unqueried samples; never-asked pairs), the same output for the same rng,
exhaustion handled, a cold start without a model."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.bench.loop import Ledger, as_queries
from palbench.learners.sklearn_adapter import Sklearn
from palbench.oracles import Truth
from palbench.oracles.noisy import Abstain
from palbench.params import build
from palbench.queries import LabelQueries
from palbench.strategies import STRATEGIES, QueryContext
from palbench.strategies.pairs import pair_key

NAMES = STRATEGIES.names()


def strategy(name):
    return build(STRATEGIES.get(name), {}, "strategy")


def truth_of(data):
    return Truth(data.y, data.n_classes, np.ones(data.n_classes), seed=0)


def make_context(name, data, rounds: int, with_model: bool, abstain: float = 0.0):
    """A ledger after `rounds` rounds of 5 queries answered by an exact (or abstaining) oracle."""
    s = strategy(name)
    rng = np.random.default_rng(1)
    ledger = Ledger(data, "majority")
    exemplars = ledger.reveal_exemplars(data.y, s.free_exemplars, data.n_classes, rng)
    ctx = QueryContext(X=data.X, queried=ledger.queried, n_classes=data.n_classes,
                       graph=ledger.graph, exemplars=exemplars, asked_pairs=ledger.asked_pairs)
    base = {"name": "exact" if s.query_kind == "label" else "exact_pair"}
    oracle = Abstain(rate=abstain, base=base)
    for _ in range(rounds):
        if with_model and (ledger.graph.known_labels() >= 0).any():
            ctx.model = Sklearn().fit(data, ledger.graph, seed=0)
            ctx.model_version += 1
        queries = as_queries(s.select(ctx, 5, rng))
        ledger.add(oracle.answer(queries, truth_of(data), rng), data.y)
    if with_model:
        ctx.model = Sklearn().fit(data, ledger.graph, seed=0)
        ctx.model_version += 1
    return s, ctx, ledger


def check_new_and_distinct(queries, ledger, k):
    assert 1 <= queries.n_queries if hasattr(queries, "n_queries") else len(queries)
    if isinstance(queries, LabelQueries):
        picked = queries.indices
        assert len(picked) <= k and len(np.unique(picked)) == len(picked)
        assert not ledger.queried[picked].any()
        assert ((picked >= 0) & (picked < ledger.n_pool)).all()
    else:
        keys = pair_key(queries.a, queries.b, ledger.n_pool)
        assert queries.n_queries <= k and len(np.unique(keys)) == len(keys)
        assert (queries.a != queries.b).all()
        assert not any(int(key) in ledger.asked_pairs for key in keys)


@pytest.mark.parametrize("with_model", [False, True], ids=["cold", "model"])
@pytest.mark.parametrize("name", NAMES)
def test_returns_new_distinct_queries(name, with_model, blobs):
    s, ctx, ledger = make_context(name, blobs, 6, with_model, abstain=0.2)
    queries = as_queries(s.select(ctx, 7, np.random.default_rng(3)))
    check_new_and_distinct(queries, ledger, 7)
    if s.query_kind == "label":
        assert len(queries) == 7


@pytest.mark.parametrize("name", NAMES)
def test_same_rng_gives_same_selection(name, blobs):
    first = make_context(name, blobs, 4, True)
    again = make_context(name, blobs, 4, True)
    a = as_queries(first[0].select(first[1], 9, np.random.default_rng(5)))
    b = as_queries(again[0].select(again[1], 9, np.random.default_rng(5)))
    for field in ("indices", "a", "b"):
        if hasattr(a, field):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("name", NAMES)
def test_exhaustion_is_handled(name, circles_tiny):
    """Run until the strategy has nothing left: every query stays new, and the end is an empty
    selection (pairs) or the last remaining samples (labels), never an error."""
    s, ctx, ledger = make_context(name, circles_tiny, 0, False)
    rng = np.random.default_rng(0)
    oracle = Abstain(rate=0.0, base={"name": "exact" if s.query_kind == "label"
                                     else "exact_pair"})
    for _ in range(500):
        queries = as_queries(s.select(ctx, 10, rng))
        if len(queries) == 0:
            break
        check_new_and_distinct(queries, ledger, 10)
        ledger.add(oracle.answer(queries, truth_of(circles_tiny), rng), circles_tiny.y)
        if s.query_kind == "label" and ledger.queried.all():
            break
    else:
        pytest.fail("the strategy never ran out of queries")
    if s.query_kind == "label":
        assert ledger.queried.all()


@pytest.mark.parametrize("name", NAMES)
def test_query_kind_is_declared(name):
    assert STRATEGIES.get(name).query_kind in ("label", "pair")

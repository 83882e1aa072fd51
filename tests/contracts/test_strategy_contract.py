"""Every registered strategy passes one suite, with the real ledger and graph of the loop:
new distinct queries (unqueried samples; never-asked pairs), the same output for the same rng,
exhaustion handled, a cold start without a model."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.bench.config import seed_streams
from palbench.bench.loop import CellState, as_queries
from palbench.learners.pal import PAL
from palbench.learners.sklearn_adapter import Sklearn
from palbench.learners.supervised import MLP
from palbench.oracles import ORACLES, Truth
from palbench.oracles.costs import Costs
from palbench.oracles.noisy import Abstain
from palbench.params import build
from palbench.queries import LabelQueries, PriceList
from palbench.strategies import STRATEGIES
from palbench.strategies.pairs import pair_key

NAMES = STRATEGIES.names()


def strategy(name):
    return build(STRATEGIES.get(name), {}, "strategy")


def learner_for(s):
    """The contract learner: a logistic regression, or a small dropout MLP for strategies that
    sample predictions, or a small pretraining `pal` for the pretrained space."""
    if "sample_proba" in s.requires:
        return MLP(hidden=(16,), epochs=5, min_steps=10, dropout=0.3, device="cpu")
    if "pool_embedding" in s.requires:
        return PAL(hidden=(16,), dim=8, pretrain="on", pretrain_steps=5, epochs=2,
                   min_steps=2, device="cpu")
    return Sklearn()


def make_state(name, data, rounds: int, with_model: bool, abstain: float = 0.0) -> CellState:
    """The loop's own CellState after `rounds` rounds of 5 queries answered by an exact (or
    abstaining) oracle, the model refitted as the loop refits it."""
    s = strategy(name)
    base = {"name": "exact" if s.query_kind == "label" else "exact_pair"}
    oracle = Abstain(rate=abstain, base=base)
    if getattr(s, "routes_workers", False):  # a strategy that chooses who answers
        oracle = build(ORACLES.get("workers"), {"base": {"name": "abstain", "rate": abstain,
                                                         "base": base} if abstain else base,
                                                "n_workers": 4, "redundancy": 2,
                                                "assign": "strategy"}, "oracle")
    state = CellState(data, s, oracle, learner_for(s), Costs(),
                      "majority", seed_streams(1), name)
    for _ in range(rounds):
        if with_model and (state.ledger.graph.known_labels() >= 0).any():
            state.refit()
        state.ask(5)
    if with_model:
        state.refit()
    return state


def select(state: CellState, k: int, seed: int):
    return as_queries(state.strategy.select(state.ctx, k, np.random.default_rng(seed)))


def check_new_and_distinct(queries, ledger, k):
    assert (queries.n_queries if hasattr(queries, "n_queries") else len(queries)) >= 1
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
    state = make_state(name, blobs, 6, with_model, abstain=0.2)
    queries = select(state, 7, 3)
    check_new_and_distinct(queries, state.ledger, 7)
    if state.strategy.query_kind == "label":
        assert len(queries) == 7


@pytest.mark.parametrize("name", NAMES)
def test_same_rng_gives_same_selection(name, blobs):
    a = select(make_state(name, blobs, 4, True), 9, 5)
    b = select(make_state(name, blobs, 4, True), 9, 5)
    for field in ("indices", "a", "b"):
        if hasattr(a, field):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("name", NAMES)
def test_exhaustion_is_handled(name, circles_tiny):
    """Run until the strategy has nothing left: every query stays new, and the end is an empty
    selection (pairs) or the last remaining samples (labels), never an error."""
    state = make_state(name, circles_tiny, 0, False)
    for _ in range(500):
        queries = select(state, 10, _)
        if len(queries) == 0:
            break
        check_new_and_distinct(queries, state.ledger, 10)
        state.ledger.add(state.oracle.answer(queries, state.truth, state.oracle_rng),
                         circles_tiny.y)
        if state.strategy.query_kind == "label" and state.ledger.queried.all():
            break
    else:
        pytest.fail("the strategy never ran out of queries")
    if state.strategy.query_kind == "label":
        assert state.ledger.queried.all()


@pytest.mark.parametrize("name", NAMES)
def test_query_kind_is_declared(name):
    assert strategy(name).query_kind in ("label", "pair")


def _reachable(obj, depth: int = 3):
    """Every object reachable from obj through attributes, containers and dataclass fields."""
    seen, frontier = [], [obj]
    for _ in range(depth):
        found = []
        for item in frontier:
            seen.append(item)
            if isinstance(item, dict):
                found += list(item.values())
            elif isinstance(item, (list, tuple, set)):
                found += list(item)[:50]
            elif hasattr(item, "__dict__") and not isinstance(item, type):
                found += list(vars(item).values())
        frontier = found
    return seen + frontier


@pytest.mark.parametrize("name", NAMES)
def test_a_strategy_never_sees_the_truth(name, blobs):
    """What the loop hands a strategy (its context and the price list) holds no Truth and no
    array of the pool's true labels; only the oracle reads those."""
    state = make_state(name, blobs, 3, True)
    view = _reachable(state.ctx) + _reachable(state.prices)
    assert not any(isinstance(item, Truth) for item in view)
    labels = [item for item in view if isinstance(item, np.ndarray) and
              item.shape == blobs.y.shape and np.array_equal(item, blobs.y)]
    assert labels == []
    assert isinstance(state.prices, PriceList)
    assert state.strategy.query_price(state.prices) > 0

"""Pair strategies: pal_ordered's query bound, random_pairs' no-repeat, free exemplars counted."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from palbench.bench.ledger import Ledger
from palbench.learners.kernel import KernelPAL
from palbench.oracles import Truth
from palbench.oracles.costs import price_list_for
from palbench.oracles.pairs import ExactPair
from palbench.params import build
from palbench.queries import AnnotatorHistory, as_queries
from palbench.strategies import STRATEGIES, QueryContext

FRESH = AnnotatorHistory()  # an annotator with no answers yet


def drive(name, data, rounds, k=10, params=None, with_model=True, learner=None):
    """Run a pair strategy against the exact pair oracle; return the ledger and every query."""
    strategy = build(STRATEGIES.get(name), params or {}, "strategy")
    rng = np.random.default_rng(0)
    ledger = Ledger(data, "majority")
    exemplars = ledger.reveal_exemplars(data.y, strategy.free_exemplars, data.n_classes, rng)
    ctx = QueryContext(X=data.X, queried=ledger.queried, n_classes=data.n_classes,
                       graph=ledger.graph, exemplars=exemplars, asked_pairs=ledger.asked_pairs)
    truth = Truth(data.y, data.n_classes, price_list_for(data.n_classes))
    asked = []
    learner = learner or KernelPAL(sigma=0.2)
    for _ in range(rounds):
        if with_model:
            ctx.model = learner.fit(data, ledger.graph, seed=0)
            ctx.model_version += 1
        queries = as_queries(strategy.select(ctx, k, rng))
        if len(queries) == 0:
            break
        asked += list(zip(queries.a.tolist(), queries.b.tolist()))
        ledger.add(ExactPair().answer(queries, truth, FRESH, rng), data.y)
    return ledger, asked, exemplars


@pytest.fixture(scope="module")
def circles():
    from palbench.datasets.synthetic import Circles

    return Circles(n_samples=160, n_classes=4).prepare("circles", "dataset")


@pytest.mark.parametrize("name", ["pal_ordered", "pal_coverage"])
def test_resolving_strategies_spend_at_most_c_minus_1_queries_a_sample(name, circles):
    ledger, asked, exemplars = drive(name, circles, rounds=80)
    per_sample = Counter(a for a, _ in asked)
    assert max(per_sample.values()) <= circles.n_classes - 1
    assert (ledger.graph.known_labels() >= 0).all()  # every sample resolved, exactly
    assert (ledger.graph.known_labels() == circles.y).all()
    assert set(b for _, b in asked) <= set(exemplars.tolist())


def test_pal_ordered_with_a_good_model_needs_far_fewer_queries():
    """Well-separated blobs and a logistic regression: the first class asked is mostly right,
    so far fewer than the C-1 (or, in random order, (C+2)/2 - 1/C) queries a sample."""
    from palbench.datasets.synthetic import Blobs
    from palbench.learners.sklearn_adapter import Sklearn

    data = Blobs(n_samples=200, n_features=2, n_classes=4, cluster_std=0.8,
                 seed=3).prepare("blobs", "dataset")
    _, asked, _ = drive("pal_ordered", data, rounds=80, learner=Sklearn())
    n_resolved = data.n_pool - data.n_classes
    assert len(asked) < 1.3 * n_resolved


def test_random_pairs_never_repeats_a_pair(circles):
    _, asked, _ = drive("random_pairs", circles, rounds=60, k=50, with_model=False)
    keys = [tuple(sorted(p)) for p in asked]
    assert len(keys) == len(set(keys)) == 3000


def test_pal_active_attaches_yes_and_rules_out_no(circles):
    ledger, asked, exemplars = drive("pal_active", circles, rounds=10)
    known = ledger.graph.known_labels()
    for a, b in asked:
        c = int(np.flatnonzero(exemplars == b)[0])
        if circles.y[a] == c:
            assert known[a] == c
        else:
            assert ledger.graph.excluded_classes([a])[0, c]


def test_pal_active_captcha_groups_m_samples_per_query(circles):
    strategy = build(STRATEGIES.get("pal_active"), {"captcha": 4}, "strategy")
    ledger = Ledger(circles, "majority")
    rng = np.random.default_rng(0)
    exemplars = ledger.reveal_exemplars(circles.y, 1, 4, rng)
    ctx = QueryContext(X=circles.X, queried=ledger.queried, n_classes=4, graph=ledger.graph,
                       exemplars=exemplars, asked_pairs=ledger.asked_pairs)
    queries = strategy.select(ctx, 3, rng)
    assert queries.n_queries == 3 and len(queries) == 12
    for g in range(3):
        assert len(set(queries.b[queries.group == g].tolist())) == 1  # one anchor each
    truth = Truth(circles.y, 4, price_list_for(4))
    assert ExactPair().answer(queries, truth, FRESH, rng).total_cost == pytest.approx(3 * 2.0)

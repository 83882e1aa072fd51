"""The selection helpers' fast paths give exactly what the plain versions give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from palbench.graph import pair_key
from palbench.strategies.base import predict_rows, top_k
from palbench.strategies.pairs import was_asked


def full_sort_top_k(scores, candidates, k, rng):
    k = min(k, len(candidates))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    tiebreak = rng.random(len(candidates))
    return candidates[np.lexsort((tiebreak, -scores))[:k]].astype(np.int64)


score_lists = st.lists(st.one_of(st.sampled_from([0.0, 0.5, 1.0, -np.inf, np.inf, np.nan]),
                                 st.floats(-3, 3)), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(scores=score_lists, k=st.integers(0, 90), seed=st.integers(0, 2**32 - 1))
def test_top_k_equals_sorting_every_score(scores, k, seed):
    scores = np.array(scores)
    candidates = np.arange(len(scores)) * 3 + 1
    np.testing.assert_array_equal(
        top_k(scores, candidates, k, np.random.default_rng(seed)),
        full_sort_top_k(scores, candidates, k, np.random.default_rng(seed)))


def test_predict_rows_matches_predicting_the_selected_rows(rng):
    X = rng.normal(size=(300, 5)).astype(np.float32)
    model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    for rows in (np.arange(0, 300, 2), np.arange(0, 300, 7), np.arange(300)):  # both paths
        np.testing.assert_allclose(predict_rows(model, X, rows), model.predict_proba(X[rows]),
                                   rtol=1e-6)


def test_was_asked_matches_set_membership(rng):
    a, b = rng.integers(0, 50, 200), rng.integers(0, 50, 200)
    keys = pair_key(a, b, 50)
    asked = {int(k) for k in keys[::3]}
    np.testing.assert_array_equal(was_asked(keys, asked), [int(k) in asked for k in keys])
    assert not was_asked(keys, set()).any()

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


def test_top_one_without_a_tie_is_the_general_paths_pick_and_leaves_the_stream_alike():
    """top_k(.., 1, rng) skips drawing tiebreaks when the maximum is unique: the same pick,
    and the generator ends in the same state as if it had drawn them."""
    import numpy as np

    from palbench.strategies.base import top_k

    data = np.random.default_rng(7)
    for trial in range(300):
        n = int(data.integers(1, 400))
        scores = data.integers(0, 5 if trial % 2 else 10**6, n).astype(float)
        if trial % 7 == 0:
            scores[data.integers(n)] = np.nan
        candidates = data.permutation(10_000)[:n]
        fast, general = np.random.default_rng(trial), np.random.default_rng(trial)
        picked = top_k(scores, candidates, 1, fast)
        order = np.lexsort((general.random(n), -scores))  # what the general path does
        assert picked.tolist() == [candidates[order[0]]], trial
        assert fast.random() == general.random(), trial


def test_badges_draw_is_proportional_and_never_draws_a_zero_weight():
    import numpy as np
    from scipy.stats import chisquare

    from palbench.strategies.badge import draw_proportional

    data = np.random.default_rng(5)
    for trial in range(300):  # sizes around the block, zeros anywhere, a lone weight
        n = int(data.integers(1, 3000))
        weight = data.random(n) ** 3
        weight[data.random(n) < 0.3] = 0
        if trial % 7 == 0:
            weight[:] = 0
            weight[int(data.integers(n))] = 1e-300
        if weight.sum() == 0:
            continue
        rng = np.random.default_rng(trial)
        for _ in range(5):
            i = draw_proportional(weight, rng, block=int(data.integers(1, 600)))
            assert 0 <= i < n and weight[i] > 0, trial
    weight = np.array([0.0, 1.0, 0.0, 2.0, 3.0, 0.0, 4.0] * 300)  # 2,100 rows, 5 blocks
    rng = np.random.default_rng(0)
    counts = np.bincount([draw_proportional(weight, rng, block=512) for _ in range(40_000)],
                         minlength=len(weight))
    assert counts[weight == 0].sum() == 0
    by_value = [counts[weight == v].sum() for v in (1.0, 2.0, 3.0, 4.0)]
    assert chisquare(by_value, np.array([1, 2, 3, 4]) / 10 * 40_000).pvalue > 1e-3

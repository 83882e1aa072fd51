"""The robustness study's statistics where the answer is known: verdicts from per-seed
results drawn from one distribution or ten standard deviations apart, Holm and the paired test
as the leaderboard computes them, Kendall's W against Friedman's statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from palbench.reports.robustness import (
    BETTER,
    NONE,
    holm_many,
    kendalls_w,
    paired_p_many,
    same_verdict_share,
    seed_subsets,
    verdicts_of,
)
from palbench.reports.stats import holm, paired_p


def test_the_vectorised_test_and_holm_are_the_leaderboards():
    rng = np.random.default_rng(0)
    d = rng.normal(0.2, 1.0, size=(40, 6, 7))
    d[0, 0] = 0.5  # no spread: a sure gain
    d[1, 1] = 0.0  # no difference at all
    d[2, 2, 3] = np.inf  # an infinite difference
    p = paired_p_many(d)
    for i in range(40):
        expected = [paired_p(row) for row in d[i]]
        np.testing.assert_array_equal(p[i], expected)
        valid = ~np.isnan(p[i])
        adjusted = np.full(6, np.nan)
        adjusted[valid] = holm(p[i][valid])
        np.testing.assert_array_equal(holm_many(p[i]), adjusted)


def test_seed_subsets_are_without_replacement_and_all_of_them_when_few():
    rng = np.random.default_rng(0)
    every = seed_subsets(5, 3, 1000, rng)
    assert len(every) == 10 and len({tuple(s) for s in every}) == 10
    drawn = seed_subsets(30, 10, 200, rng)
    assert drawn.shape == (200, 10)
    assert all(len(set(row)) == 10 for row in drawn) and drawn.max() < 30


def test_one_distribution_gives_no_evidence_in_about_95_percent_of_resamples():
    """Two strategies whose per-seed AULCs come from one distribution: over many studies of
    20 seeds, an n-seed resample says "no evidence" as the whole study does about 95% of the
    time (alpha 0.05)."""
    rng = np.random.default_rng(1)
    shares = {3: [], 5: [], 10: []}
    for _ in range(300):
        a, b = rng.normal(0.7, 0.02, 20), rng.normal(0.7, 0.02, 20)
        d = (a - b)[None, :]
        if verdicts_of(d)[0] != NONE:
            continue  # the ~5% of studies whose whole-study verdict is itself a false alarm
        for n in shares:
            shares[n].append(same_verdict_share(d, n, resamples=200)[0])
    for n, values in shares.items():
        assert 0.90 <= np.mean(values) <= 0.99, (n, np.mean(values))


def test_ten_standard_deviations_give_the_same_verdict_in_every_resample():
    rng = np.random.default_rng(2)
    d = rng.normal(10.0, 1.0, size=(1, 12))  # A - B: ten standard deviations of the difference
    assert verdicts_of(d)[0] == BETTER
    for n in (3, 5, 10, 12):
        assert same_verdict_share(d, n)[0] == 1.0
    assert np.isnan(same_verdict_share(d, 13)[0])  # more seeds than the study has


def test_holm_runs_over_the_pairs_of_a_variant():
    """A difference significant alone (p about 0.02) is no evidence among ten pairs."""
    gain = np.array([1.0, 2.0, 1.5, 0.5, 1.2, -0.2, 0.9])
    assert 0.01 < paired_p(gain) < 0.05
    null = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0])  # mean 0: p = 1
    assert verdicts_of(gain[None, :])[0] == BETTER
    assert verdicts_of(np.vstack([gain] + [null] * 9))[0] == NONE
    assert verdicts_of(-gain[None, :])[0] == -BETTER


def test_kendalls_w_is_friedmans_statistic_scaled():
    rng = np.random.default_rng(4)
    for ties in (False, True):
        table = pd.DataFrame(rng.normal(size=(6, 4)), columns=list("abcd"))
        if ties:
            table.iloc[0, 1] = table.iloc[0, 0]
            table.iloc[3, 2] = table.iloc[3, 3]
        m, n = table.shape
        friedman = stats.friedmanchisquare(*[table[c] for c in table.columns]).statistic
        assert kendalls_w(table) == pytest.approx(friedman / (m * (n - 1)), rel=1e-12)
    same = pd.DataFrame([[3, 2, 1]] * 4, columns=list("xyz"))
    assert kendalls_w(same) == pytest.approx(1.0)
    assert np.isnan(kendalls_w(same.iloc[:1]))

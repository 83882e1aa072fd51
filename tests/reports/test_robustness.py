"""The robustness study's statistics where the answer is known: verdicts from per-seed
results drawn from one distribution or ten standard deviations apart, Holm and the paired
sign-flip test as the leaderboard computes them (both tested against references in
test_stats_small_n.py), Kendall's W against Friedman's statistic at 1, 2, 3 and 6 variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from palbench.reports.robustness import (
    BETTER,
    NONE,
    kendalls_w,
    same_verdict_share,
    seed_subsets,
    verdicts_of,
)
from palbench.reports.stats import holm, seeds_to_decide, sign_flip_p


def test_the_studys_verdicts_are_the_leaderboards_test_row_by_row():
    """verdicts_of over a stack of studies equals the sign-flip test and Holm applied to each
    study's pairs alone (the leaderboard's paired_against does the latter)."""
    rng = np.random.default_rng(0)
    d = rng.normal(0.8, 1.0, size=(40, 6, 7))
    d[0, 0] = 0.5  # no spread: p = 2/2^7, not 0
    d[1, 1] = 0.0  # no difference at all: p = 1
    d[2, 2, 3] = np.inf  # an infinite difference: no test
    verdicts = verdicts_of(d)
    for i in range(40):
        p = np.array([sign_flip_p(row) for row in d[i]])
        adjusted = holm(p)
        expected = np.where(adjusted < 0.05, np.sign(d[i].mean(axis=1)), NONE)
        np.testing.assert_array_equal(verdicts[i], np.nan_to_num(expected))
    assert sign_flip_p(d[0, 0]) == 2 / 2 ** 7 and sign_flip_p(d[1, 1]) == 1.0
    assert np.isnan(sign_flip_p(d[2, 2]))


def test_seed_subsets_are_without_replacement_and_all_of_them_when_few():
    rng = np.random.default_rng(0)
    every = seed_subsets(5, 3, 1000, rng)
    assert len(every) == 10 and len({tuple(s) for s in every}) == 10
    drawn = seed_subsets(30, 10, 200, rng)
    assert drawn.shape == (200, 10)
    assert all(len(set(row)) == 10 for row in drawn) and drawn.max() < 30


def test_one_distribution_gives_no_evidence_in_about_95_percent_of_resamples():
    """Two strategies whose per-seed AULCs come from one distribution: over many studies of
    20 seeds, a 10-seed resample says "no evidence" as the whole study does about 95% of the
    time (alpha 0.05); 3 or 5 seeds can never say anything else (a sign-flip p is at least
    2/2^n), so they agree every time."""
    rng = np.random.default_rng(1)
    shares = {3: [], 5: [], 10: []}
    for _ in range(300):
        a, b = rng.normal(0.7, 0.02, 20), rng.normal(0.7, 0.02, 20)
        d = (a - b)[None, :]
        if verdicts_of(d)[0] != NONE:
            continue  # the ~5% of studies whose whole-study verdict is itself a false alarm
        for n in shares:
            shares[n].append(same_verdict_share(d, n, resamples=200)[0])
    assert np.mean(shares[3]) == np.mean(shares[5]) == 1.0
    assert 0.90 <= np.mean(shares[10]) <= 0.99, np.mean(shares[10])


def test_ten_standard_deviations_give_the_same_verdict_in_every_resample_that_can_decide():
    """From seeds_to_decide() = 6 seeds on, every resample finds the gain; below, none can."""
    rng = np.random.default_rng(2)
    d = rng.normal(10.0, 1.0, size=(1, 12))  # A - B: ten standard deviations of the difference
    assert verdicts_of(d)[0] == BETTER and seeds_to_decide(1) == 6
    for n in (6, 10, 12):
        assert same_verdict_share(d, n)[0] == 1.0
    for n in (1, 2, 3, 5):
        assert same_verdict_share(d, n)[0] == 0.0
    assert np.isnan(same_verdict_share(d, 13)[0])  # more seeds than the study has


def test_holm_runs_over_the_pairs_of_a_variant():
    """A difference significant alone (4 of the 2^7 sign patterns are as far out: p =
    0.031) is no evidence among ten pairs."""
    gain = np.array([1.0, 2.0, 1.5, 0.5, 1.2, -0.2, 0.9])
    assert sign_flip_p(gain) == 4 / 2 ** 7
    null = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 0.0])  # mean 0: p = 1
    assert verdicts_of(gain[None, :])[0] == BETTER
    assert verdicts_of(np.vstack([gain] + [null] * 9))[0] == NONE
    assert verdicts_of(-gain[None, :])[0] == -BETTER


@pytest.mark.parametrize("rows", [2, 3, 6])
def test_kendalls_w_is_friedmans_statistic_scaled(rows):
    """W = chi2_F / (m (k - 1)) with scipy's tie-corrected Friedman chi2, at 2, 3 and 6
    variants (rows), with and without ties; 1 row has no concordance to measure."""
    rng = np.random.default_rng(4)
    for ties in (False, True):
        table = pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd"))
        if ties:
            table.iloc[0, 1] = table.iloc[0, 0]
            table.iloc[rows - 1, 2] = table.iloc[rows - 1, 3]
        m, n = table.shape
        friedman = stats.friedmanchisquare(*[table[c] for c in table.columns]).statistic
        assert kendalls_w(table) == pytest.approx(friedman / (m * (n - 1)), rel=1e-12)
    assert np.isnan(kendalls_w(table.iloc[:1]))
    same = pd.DataFrame([[3, 2, 1]] * 4, columns=list("xyz"))
    assert kendalls_w(same) == pytest.approx(1.0)
    assert np.isnan(kendalls_w(same.iloc[:1]))

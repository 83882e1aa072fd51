"""Friedman's test and the Nemenyi critical difference at 1, 2 and 3 blocks, against a
brute-force enumeration of every arrangement of every block's ranks (exact) and against scipy
and Demsar's table (the chi2 and studentized-range approximations). The demo's case, 2
panels x 4 strategies ranked alike, printed "Friedman p = 0: the ranks differ" before 0.3.0."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from palbench.reports.ranks import critical_difference, friedman_test, rank_test
from palbench.reports.report import rank_blocks_of


def by_enumeration(table: pd.DataFrame, alpha: float = 0.05) -> tuple[float, float]:
    """(p, exact CD in mean ranks) over all (k!)^n rearrangements of the blocks' ranks,
    block 1 included: p = P(sum of squared rank sums >= observed), CD = the smallest range
    of rank sums at most alpha likely, over n."""
    ranks = table.rank(axis=1).to_numpy()
    n, k = ranks.shape
    observed = (ranks.sum(axis=0) ** 2).sum()
    orders = [sorted(set(itertools.permutations(row))) for row in ranks]
    statistics, ranges = [], []
    for arrangement in itertools.product(*orders):
        sums = np.sum(arrangement, axis=0)
        statistics.append((sums ** 2).sum())
        ranges.append(sums.max() - sums.min())
    statistics, ranges = np.array(statistics), np.array(ranges)
    p = float(np.mean(statistics >= observed - 1e-9))
    rare = [d for d in np.unique(ranges) if np.mean(ranges >= d) <= alpha]
    return p, (min(rare) / n if rare else math.inf)


DEMO = pd.DataFrame([[0.70, 0.68, 0.60, 0.55], [0.90, 0.88, 0.80, 0.79]],
                    columns=["margin", "random", "pal_ordered", "pal_group"])


def test_the_demos_two_panels_ranked_alike_are_p_one_in_24():
    test = friedman_test(DEMO)
    assert test.exact and test.p == pytest.approx(1 / 24, abs=1e-15)
    assert test.statistic == pytest.approx(6.0)  # chi2 on 3 df: asymptotic p = 0.11
    assert stats.chi2.sf(6.0, 3) == pytest.approx(0.1116, abs=1e-4)
    assert (test.p, test.cd) == pytest.approx(by_enumeration(DEMO))
    assert test.cd == math.inf and test.separated() == []  # 2 blocks tell no pair apart
    sentence = test.sentence("panels")
    assert sentence.startswith("exact Friedman p = 0.042 (chi2 = 6 on 3 df, 4 lines over 2 "
                               "panels): the ranks differ, but with 2 panels no difference")
    assert "p = 0:" not in sentence


TABLES = {
    "3 lines, 2 blocks": [[1.0, 2.0, 3.0], [2.0, 1.0, 3.0]],
    "3 lines, 3 blocks": [[1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [1.0, 2.0, 3.0]],
    "3 lines, 3 blocks, ties": [[1.0, 1.0, 3.0], [1.0, 3.0, 2.0], [2.0, 2.0, 2.0]],
    "4 lines, 2 blocks": [[0.1, 0.4, 0.2, 0.3], [0.2, 0.4, 0.1, 0.3]],
    "4 lines, 3 blocks": [[4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 1.0, 2.0], [4.0, 2.0, 3.0, 1.0]],
    "3 lines, 5 blocks": [[3.0, 2.0, 1.0]] * 5,
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_exact_test_is_the_enumeration(name):
    table = pd.DataFrame(TABLES[name], columns=list("abcd")[:len(TABLES[name][0])])
    test = friedman_test(table)
    p, cd = by_enumeration(table)
    assert test.exact and test.p == pytest.approx(p, abs=1e-12)
    assert test.cd == pytest.approx(cd, abs=1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = stats.friedmanchisquare(*table.to_numpy().T).statistic
    assert test.statistic == pytest.approx(chi2 if np.isfinite(chi2) else 0.0)


def test_five_blocks_ranked_alike_separate_the_extremes():
    """3 lines over 5 blocks ranked alike: p = 1/6^4 (exact); the exact CD separates the
    best from the worst (mean ranks 2 apart) and says so."""
    table = pd.DataFrame(TABLES["3 lines, 5 blocks"], columns=list("abc"))
    test = friedman_test(table)
    assert test.p == pytest.approx(6 / 6 ** 5)
    assert ("a", "c") in test.separated() or ("c", "a") in test.separated()
    assert "pair(s) are: " in test.sentence()


def test_many_blocks_use_chi2_and_demsars_critical_difference():
    """(4!)^7 arrangements are past the enumeration limit: scipy's chi2 p and Demsar's CD."""
    table = pd.DataFrame(np.random.default_rng(5).normal(size=(8, 4)), columns=list("abcd"))
    test = friedman_test(table)
    reference = stats.friedmanchisquare(*table.to_numpy().T)
    assert not test.exact and test.method == "Friedman (chi2 approximation)"
    assert (test.statistic, test.p) == pytest.approx((reference.statistic, reference.pvalue))
    assert test.cd == pytest.approx(2.569 * math.sqrt(4 * 5 / (6 * 8)), abs=1e-3)


@pytest.mark.parametrize("k,q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (10, 3.164)])
def test_the_asymptotic_critical_difference_is_demsars_table(k, q):
    """Demsar (2006), Table 5: q_0.05 for the Nemenyi test."""
    assert critical_difference(k, 10) == pytest.approx(q * math.sqrt(k * (k + 1) / 60),
                                                       abs=1e-3)


def test_one_block_or_two_lines_are_not_tested():
    one = friedman_test(DEMO.iloc[:1])
    assert np.isnan(one.p) and one.separated() == []
    assert one.sentence() == ("The Friedman test needs at least 3 lines and 2 panels (4 and "
                              "1 here): the ranks are not tested.")
    assert np.isnan(friedman_test(DEMO[["margin", "random"]]).p)


def test_no_pair_is_told_apart_when_friedman_does_not_reject():
    table = pd.DataFrame([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [3.0, 1.0, 2.0]], columns=list("abc"))
    test = friedman_test(table)
    assert test.p >= 0.05 and test.separated() == []
    assert "no evidence that the ranks differ, so no pair is told apart" in test.sentence()


def demo_runs() -> pd.DataFrame:
    """The demo's shape as per-checkpoint rows: 2 panels (learners) x 4 strategies, one seed,
    the same order in both."""
    rows = []
    for run_id, (learner, strategy) in enumerate(itertools.product(
            ("mlp", "pal"), DEMO.columns)):
        acc = DEMO.loc[0 if learner == "mlp" else 1, strategy]
        for budget in (60, 120):
            rows.append({"dataset": "digits", "oracle": "o", "costs": "c", "learner": learner,
                         "strategy": strategy, "seed": 0, "run_id": run_id, "budget": budget,
                         "cost": budget, "n_free": 0, "task_acc": acc})
    return pd.DataFrame(rows)


def test_the_leaderboard_prints_the_exact_test_for_the_demo():
    frame = demo_runs()
    assert rank_test(frame).p == pytest.approx(1 / 24)
    blocks = rank_blocks_of(frame, "task_acc", "strategy", "panel")
    text = blocks[1].text
    assert text.startswith("exact Friedman p = 0.042") and "no difference of mean ranks" in text

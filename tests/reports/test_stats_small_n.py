"""The seed statistics at the n they get (1, 2, 3 and a few more), each against a reference:
scipy's t interval and permutation test, a brute-force enumeration of every sign pattern, a
t-test inverted on a grid for Fieller's interval, Holm's definition written out. The cases
that were wrong before 0.3.0: a "95% interval" from two seeds that was their range, and p = 0
for two identical gains."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from palbench.reports.stats import (
    EXACT_FLIP_MAX_SEEDS,
    INTERVAL_MIN_SEEDS,
    holm,
    mean_ci,
    paired_against,
    ratio_ci,
    seeds_to_decide,
    sign_flip_p,
    smallest_p,
)

SAMPLES = {1: [0.81], 2: [104.9, 108.8], 3: [0.80, 0.85, 0.83], 5: [3.0, 1.0, 4.0, 1.0, 5.0]}


@pytest.mark.parametrize("n", sorted(SAMPLES))
def test_the_mean_interval_is_students_t_at_every_n(n):
    values = np.array(SAMPLES[n])
    interval = mean_ci(values)
    assert interval.point == pytest.approx(values.mean()) and interval.n == n
    if n < INTERVAL_MIN_SEEDS:
        assert np.isnan(interval.low) and np.isnan(interval.high)
        assert interval.why == "too few seeds for an interval: n = 1, needs >= 2"
        return
    expected = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=stats.sem(values))
    assert (interval.low, interval.high) == pytest.approx(expected, rel=1e-12)
    assert interval.name == "95% t interval" and interval.why == ""


def test_two_seeds_give_a_t_interval_not_their_range():
    """The demo's cost_to_reach over 2 seeds: a bootstrap could only return [104.9, 108.8];
    Student's t with 1 degree of freedom is 12.7 half-ranges wide."""
    low, high = mean_ci([104.9, 108.8]).low, mean_ci([104.9, 108.8]).high
    assert low == pytest.approx(106.85 - 12.706 * 1.95, abs=0.01)
    assert high == pytest.approx(131.63, abs=0.01) and high > 108.8


def test_an_interval_is_cut_to_the_range_its_values_can_take():
    """Two accuracies of 0.40 and 0.95: Student's t reaches 4.17 and -2.82; a mean of
    accuracies lies in [0, 1], so the cut interval covers it whenever the t interval does."""
    plain = mean_ci([0.40, 0.95])
    cut = mean_ci([0.40, 0.95], within=(0.0, 1.0))
    assert plain.low < 0 and plain.high > 1
    assert (cut.point, cut.low, cut.high) == (plain.point, 0.0, 1.0)
    lone = mean_ci([0.7], within=(0.0, 1.0))  # one seed: still no interval, and why
    assert lone.point == 0.7 and np.isnan(lone.low) and np.isnan(lone.high) and lone.why
    outside = mean_ci([2.0, 2.1], within=(0.0, 1.0))  # not a value of that range: no limits
    assert outside.low < outside.point < outside.high
    assert (outside.low, outside.high) == (mean_ci([2.0, 2.1]).low, mean_ci([2.0, 2.1]).high)
    inside = mean_ci([0.80, 0.85, 0.83], within=(0.0, 1.0))
    assert (inside.low, inside.high) == (mean_ci([0.80, 0.85, 0.83]).low,
                                         mean_ci([0.80, 0.85, 0.83]).high)


def test_a_reports_accuracy_and_cost_intervals_stay_in_range(tmp_path):
    """Two seeds of a noisy cell: no accuracy interval outside [0, 1], no cost below 0."""
    import re

    from palbench.reports.report import budget_table, reach_costs
    frame = pd.DataFrame({
        "run_id": [1, 1, 2, 2], "strategy": ["s"] * 4, "budget": [10.0, 20.0] * 2,
        "cost": [10.0, 20.0] * 2, "task_acc": [0.10, 0.40, 0.90, 0.95], "seed": [0, 0, 1, 1],
        **{key: ["k"] * 4 for key in ("dataset", "oracle", "costs", "learner",
                                      "selection_learner", "spec_hash")}})
    table = budget_table(frame, "task_acc", "strategy").frame.to_string()
    ends = [float(v) for v in re.findall(r"-?\d+\.\d+", table)]
    assert ends and min(ends) >= 0 and max(ends) <= 1, table
    reach = reach_costs(frame, "strategy", "task_acc", {"t": 0.3})["s"][0]
    assert float(re.findall(r"-?\d+\.\d+", reach)[1]) >= 0, reach


def test_runs_that_never_reached_make_the_mean_unbounded():
    some = mean_ci([10.0, np.inf, 12.0])
    assert some.point == np.inf and some.high == np.inf and np.isnan(some.low)
    assert "infinite in 1 of 3 seeds" in some.why
    assert tuple(mean_ci([np.inf, np.inf])) == (np.inf, np.inf, np.inf)
    assert np.isnan(mean_ci([np.inf, -np.inf]).point)
    assert np.isnan(mean_ci([]).point)


def fieller_by_inversion(a, b, grid):
    """The ratios on `grid` that a one-sample t-test of a - r b does not reject at 0.05."""
    return [r for r in grid if stats.ttest_1samp(a - r * b, 0.0).pvalue >= 0.05]


@pytest.mark.parametrize("a,b", [
    ([10.0, 12.0], [14.0, 15.0]),
    ([10.0, 12.0, 11.0], [14.0, 16.0, 15.5]),
    ([95.0, 101.0, 98.0, 104.0, 99.0], [130.0, 128.0, 141.0, 135.0, 133.0]),
])
def test_fieller_is_the_t_test_inverted(a, b):
    a, b = np.array(a), np.array(b)
    interval = ratio_ci(a, b)
    assert interval.point == pytest.approx(a.mean() / b.mean())
    assert interval.name == "95% Fieller interval"
    step = (interval.high - interval.low) / 400
    grid = np.arange(interval.low - 40 * step, interval.high + 40 * step, step)
    kept = fieller_by_inversion(a, b, grid)
    assert kept[0] == pytest.approx(interval.low, abs=1.01 * step)
    assert kept[-1] == pytest.approx(interval.high, abs=1.01 * step)


def test_fieller_is_unbounded_when_the_denominator_is_not_resolved_and_needs_two_seeds():
    wide = ratio_ci([1.0, 2.0, 1.5], [0.5, -0.4, 0.2])
    assert (wide.low, wide.high) == (-np.inf, np.inf) and "not resolved" in wide.why
    one = ratio_ci([3.0], [4.0])
    assert one.point == 0.75 and np.isnan(one.high) and "n = 1, needs >= 2" in one.why
    never = ratio_ci([10.0, np.inf], [20.0, 22.0])
    assert never.point == np.inf and never.high == np.inf


def sign_flip_by_enumeration(d) -> float:
    """Every one of the 2^n sign patterns, written out."""
    observed = abs(sum(d))
    patterns = list(itertools.product((1, -1), repeat=len(d)))
    hits = sum(abs(sum(s * x for s, x in zip(signs, d))) >= observed - 1e-12
               for signs in patterns)
    return hits / len(patterns)


@pytest.mark.parametrize("d", [
    [0.3], [-0.2], [0.1, 0.1], [0.1, -0.3], [0.05, 0.06, 0.055], [0.2, -0.1, 0.3],
    [0.0, 0.0, 0.0], [1.0, 2.0, 1.5, 0.5, 1.2, -0.2, 0.9], [0.4, -0.1, 0.3, 0.2, 0.5],
])
def test_the_sign_flip_p_is_the_enumeration_and_scipys(d):
    p = sign_flip_p(d)
    assert p == pytest.approx(sign_flip_by_enumeration(d), abs=1e-15)
    if len(d) < 2:  # scipy's permutation_test takes 2 observations or more
        return
    reference = stats.permutation_test((np.array(d),), np.mean, permutation_type="samples",
                                       n_resamples=np.inf, alternative="two-sided").pvalue
    assert p == pytest.approx(min(1.0, reference), abs=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_identical_gains_are_no_sure_thing(n):
    """n seeds that all gain 0.1: the smallest p a sign-flip test has, 2/2^n, never 0."""
    assert sign_flip_p([0.1] * n) == smallest_p(n) == min(1.0, 2 / 2 ** n)
    assert sign_flip_p([-0.1] * n) == smallest_p(n)


def test_the_test_runs_along_the_last_axis_and_draws_seeded_patterns_past_the_exact_limit():
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1.0, size=(4, 5, 6))
    p = sign_flip_p(d)
    for i, j in itertools.product(range(4), range(5)):
        assert p[i, j] == sign_flip_by_enumeration(d[i, j])
    n = EXACT_FLIP_MAX_SEEDS + 2  # 16,384 patterns exactly; 9,999 drawn
    long = rng.normal(0.5, 1.0, size=n)
    drawn = sign_flip_p(long)
    assert drawn == sign_flip_p(long)  # seeded
    assert drawn == pytest.approx(sign_flip_by_enumeration(long), abs=0.015)
    assert np.isnan(sign_flip_p([0.1, np.inf])) and np.isnan(sign_flip_p([]))


def test_seeds_to_decide_is_where_the_smallest_p_times_the_tests_drops_below_alpha():
    for tests in (1, 2, 3, 6, 10):
        n = seeds_to_decide(tests)
        assert tests * 2 / 2 ** n < 0.05 <= tests * 2 / 2 ** (n - 1)
    assert seeds_to_decide(1) == 6 and seeds_to_decide(3) == 7


def holm_by_definition(p):
    """Adjusted p_(i) = max over j <= i of min(1, (m - j + 1) p_(j)), in sorted order."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    for i, index in enumerate(order):
        adjusted[index] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))
    return adjusted


@pytest.mark.parametrize("p", [[0.03], [0.04, 0.01], [0.04, 0.01, 0.02], [0.5, 0.6, 0.001],
                               [0.01, 0.01, 0.3, 0.02]])
def test_holm_is_its_definition(p):
    np.testing.assert_allclose(holm(p), holm_by_definition(np.array(p)), rtol=1e-15)


def test_holm_leaves_untested_entries_out_of_the_count():
    np.testing.assert_array_equal(holm([0.02, np.nan, 0.03]), [0.04, np.nan, 0.04])
    rows = np.array([[0.04, 0.01, 0.02], [0.5, 0.6, 0.001]])
    np.testing.assert_allclose(holm(rows), [holm_by_definition(r) for r in rows])


def runs(gains: dict[str, list[float]]) -> pd.DataFrame:
    """Per-run AULCs of random (0.7 on every seed) and strategies gaining `gains` over it."""
    rows = []
    for strategy, values in {"random": [0.0] * len(next(iter(gains.values()))),
                             **gains}.items():
        for seed, gain in enumerate(values):
            rows.append({"dataset": "d", "oracle": "o", "costs": "c", "learner": "l",
                         "strategy": strategy, "seed": seed, "aulc": 0.7 + gain})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_few_seeds_give_no_verdict_however_alike_the_gains(n):
    """Before 0.3.0, two seeds that both gained 0.05 were a "better" at p = 0."""
    verdicts = paired_against(runs({"margin": [0.05] * n}), "aulc")
    row = verdicts.iloc[0]
    assert row["p"] == smallest_p(n) and row["verdict"] == "no evidence"
    assert row["method"] == "exact sign-flip test"


def test_enough_seeds_give_a_verdict_holm_corrected_over_the_strategies():
    gains = {"margin": [0.05, 0.04, 0.06, 0.05, 0.03, 0.05, 0.04],
             "entropy": [0.01, -0.02, 0.02, -0.01, 0.0, 0.01, -0.01]}
    verdicts = paired_against(runs(gains), "aulc").set_index("strategy")
    assert verdicts.loc["margin", "p"] == 2 / 2 ** 7
    assert verdicts.loc["margin", "p_holm"] == 2 * 2 / 2 ** 7
    assert verdicts.loc["margin", "verdict"] == "better"
    assert verdicts.loc["entropy", "verdict"] == "no evidence"


@pytest.mark.parametrize("n,floor", [
    (1, "With 1 seed the smallest possible p is 1: no gain can be significant below 7 seeds."),
    (3, "With 3 seeds the smallest possible p is 0.25: no gain can be significant below 7 "
        "seeds."),
    (7, ""),
])
def test_the_leaderboard_says_the_test_and_its_floor(n, floor):
    """Two strategies against random (Holm over 2 tests: 7 seeds to decide)."""
    from palbench.reports.report import paired_blocks

    paragraph = paired_blocks(runs({"margin": [0.05] * n, "entropy": [0.01] * n}))[0].text
    assert paragraph.startswith("Against random, AULC over shared seeds (exact sign-flip test, "
                                "two-sided, Holm-corrected within this panel;")
    assert paragraph.endswith("not a win)." + (" " + floor if floor else ""))


def test_the_curves_band_and_compares_change_are_the_t_interval_or_say_why_not():
    from palbench.reports.compare import change_text as fmt
    from palbench.reports.stats import t_band

    values = [0.80, 0.85, 0.83]
    assert t_band(values) == (mean_ci(values).low, mean_ci(values).high)
    assert all(np.isnan(t_band([0.8])))
    assert fmt(mean_ci([-0.1])) == "-0.1 (too few seeds for an interval: n = 1, needs >= 2)"
    assert fmt(mean_ci([-0.1, -0.1])) == "-0.1 [-0.1, -0.1]"

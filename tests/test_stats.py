"""Summary statistics against hand computations and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from palbench.bench.stats import aulc, mean_ci


def test_aulc_by_hand():
    # trapezoids: (0.5+0.7)/2*10 + (0.7+0.9)/2*20 = 6 + 16 = 22, over range 30
    assert aulc([10, 20, 40], [0.5, 0.7, 0.9]) == pytest.approx(22 / 30)
    assert aulc([10, 20], [0.8, 0.8]) == pytest.approx(0.8)
    assert aulc([5], [0.6]) == 0.6


def test_mean_ci_matches_scipy():
    values = np.array([0.8, 0.85, 0.9, 0.82])
    mean, low, high = mean_ci(values)
    expected = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx(expected)
    assert np.isnan(mean_ci([0.5])[1])

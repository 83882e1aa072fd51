"""Intervals across seeds and paired tests (per-run values come from metrics.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from palbench.reports.metrics import PANEL_KEYS, with_cell_keys

REPORT_RESAMPLES = 2000  # bootstrap resamples behind every interval a report prints


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval across seeds; the interval is NaN for one seed."""
    values = np.asarray(values, float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.sem(values) * stats.t.ppf(0.5 + level / 2, len(values) - 1))
    return mean, mean - half, mean + half


def bootstrap_ci(values, level: float = 0.95, n_boot: int = 10_000, seed: int = 0,
                 statistic=np.mean) -> tuple[float, float, float]:
    """Statistic with a seeded percentile-bootstrap interval over seeds (resampling runs).
    Infinite values (censored runs) propagate: an interval may reach +inf."""
    values = np.asarray(values, float)
    with np.errstate(invalid="ignore"):  # +inf and -inf together: NaN, said as such
        point = float(statistic(values))
    if len(values) < 2:
        return point, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, len(values), size=(n_boot, len(values)))]
    with np.errstate(invalid="ignore"):
        stats_ = statistic(samples, axis=1)
    # no interpolation between resampled statistics: an infinite one stays infinite
    low, high = np.quantile(stats_, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return point, float(low), float(high)


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(p_values, float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def paired_p(differences) -> float:
    """Paired t-test p-value of per-seed differences (= scipy's ttest_rel on the two sides);
    0 or 1 for differences without spread (a sure gain, or none), NaN below 2 seeds or with
    an infinite difference."""
    gain = np.asarray(differences, float)
    if len(gain) < 2 or not np.all(np.isfinite(gain)):
        return float("nan")
    if gain.std() == 0:
        return 0.0 if gain.mean() != 0 else 1.0
    return float(stats.ttest_1samp(gain, 0.0).pvalue)


def paired_against(summary: pd.DataFrame, value: str, baseline: str = "random",
                   alpha: float = 0.05) -> pd.DataFrame:
    """Each strategy against `baseline` over the seeds both ran, per panel: mean paired gain,
    paired t-test p-value, Holm-adjusted within the panel, and a verdict. A gain whose adjusted
    p-value is not below alpha is "no evidence", never a win."""
    keys = PANEL_KEYS
    rows = []
    for key, panel in with_cell_keys(summary).groupby(keys, sort=True):
        wide = panel.pivot_table(index="seed", columns="strategy", values=value)
        if baseline not in wide:
            continue
        found = []
        for strategy in wide.columns.drop(baseline):
            pair = wide[[strategy, baseline]].dropna()
            gain = (pair[strategy] - pair[baseline]).to_numpy()
            p = paired_p(gain)
            found.append({**dict(zip(keys, key)), "strategy": strategy, "baseline": baseline,
                          "seeds": len(gain), "gain": float(np.mean(gain)) if len(gain) else
                          float("nan"), "p": p})
        if found:
            ps = np.array([f["p"] for f in found])
            valid = ~np.isnan(ps)
            adjusted = np.full(len(ps), np.nan)
            adjusted[valid] = holm(ps[valid])
            for f, p_adj in zip(found, adjusted):
                f["p_holm"] = p_adj
                if np.isnan(p_adj) or p_adj >= alpha:
                    f["verdict"] = "no evidence"
                else:
                    f["verdict"] = "better" if f["gain"] > 0 else "worse"
            rows += found
    return pd.DataFrame(rows)

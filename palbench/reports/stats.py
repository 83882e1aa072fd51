"""Per-run summaries and intervals across seeds, used by the leaderboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.integrate import trapezoid


def aulc(budgets: np.ndarray, acc: np.ndarray) -> float:
    """Normalised area under the accuracy-vs-cost curve over [first, last] checkpoint budget.

    Trapezoids between checkpoints divided by the budget range, so a constant accuracy a has
    AULC a. A single checkpoint gives its accuracy.
    """
    budgets, acc = np.asarray(budgets, float), np.asarray(acc, float)
    if len(budgets) == 1:
        return float(acc[0])
    return float(trapezoid(acc, budgets) / (budgets[-1] - budgets[0]))


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval across seeds; the interval is NaN for one seed."""
    values = np.asarray(values, float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.sem(values) * stats.t.ppf(0.5 + level / 2, len(values) - 1))
    return mean, mean - half, mean + half


def per_run_summary(frame: pd.DataFrame, metric: str = "task_acc") -> pd.DataFrame:
    """One row per run: the metric's final value and AULC, final cost, free exemplars."""
    group_cols = ["dataset", "oracle", "costs", "learner", "strategy", "seed", "run_id"]
    rows = []
    for key, run in frame.sort_values("budget").groupby(group_cols, sort=True):
        rows.append({**dict(zip(group_cols, key)),
                     "final": float(run[metric].iloc[-1]),
                     "final_cost": float(run["cost"].iloc[-1]),
                     "n_free": int(run["n_free"].iloc[-1]) if "n_free" in run else 0,
                     "aulc": aulc(run["budget"].to_numpy(), run[metric].to_numpy())})
    return pd.DataFrame(rows)


def cost_to_reach(costs: np.ndarray, acc: np.ndarray, target: float) -> float:
    """Cost at which the accuracy curve first reaches `target`, interpolating linearly between
    checkpoints; +inf when it never does (censored: "not reached" is kept, never a number)."""
    costs, acc = np.asarray(costs, float), np.asarray(acc, float)
    above = np.flatnonzero(acc >= target)
    if len(above) == 0:
        return float("inf")
    i = above[0]
    if i == 0:
        return float(costs[0])
    c0, c1, a0, a1 = costs[i - 1], costs[i], acc[i - 1], acc[i]
    return float(c0 + (target - a0) * (c1 - c0) / (a1 - a0))


def bootstrap_ci(values, level: float = 0.95, n_boot: int = 10_000, seed: int = 0,
                 statistic=np.mean) -> tuple[float, float, float]:
    """Statistic with a seeded percentile-bootstrap interval over seeds (resampling runs).
    Infinite values (censored runs) propagate: an interval may reach +inf."""
    values = np.asarray(values, float)
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


def paired_against(summary: pd.DataFrame, value: str, baseline: str = "random",
                   alpha: float = 0.05) -> pd.DataFrame:
    """Each strategy against `baseline` over the seeds both ran, per panel: mean paired gain,
    paired t-test p-value, Holm-adjusted within the panel, and a verdict. A gain whose adjusted
    p-value is not below alpha is "no evidence", never a win."""
    keys = ["dataset", "oracle", "costs", "learner"]
    rows = []
    for key, panel in summary.groupby(keys, sort=True):
        wide = panel.pivot_table(index="seed", columns="strategy", values=value)
        if baseline not in wide:
            continue
        found = []
        for strategy in wide.columns.drop(baseline):
            pair = wide[[strategy, baseline]].dropna()
            gain = (pair[strategy] - pair[baseline]).to_numpy()
            if len(gain) >= 2 and np.all(np.isfinite(gain)) and gain.std() > 0:
                p = float(stats.ttest_rel(pair[strategy], pair[baseline]).pvalue)
            else:
                p = float("nan") if len(gain) < 2 or not np.all(np.isfinite(gain)) else \
                    (0.0 if gain.mean() != 0 else 1.0)
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

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

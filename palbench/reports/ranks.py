"""Mean rank of strategies across panels (datasets x oracles x ...) with a Nemenyi critical
difference: the critical-difference style summary used to compare methods over many data sets
(Demsar, JMLR 2006)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from palbench.reports.stats import per_run_summary  # noqa: E402

PANEL = ["dataset", "oracle", "costs", "learner"]


def mean_ranks(frame: pd.DataFrame, metric: str = "task_acc") -> tuple[pd.Series, int]:
    """Mean rank (1 = best mean AULC) of the strategies present in every panel, and the number
    of panels."""
    summary = per_run_summary(frame, metric)
    table = summary.groupby(PANEL + ["strategy"])["aulc"].mean().unstack("strategy")
    table = table.dropna(axis=1)  # a complete block design: strategies run in every panel
    if table.empty:
        return pd.Series(dtype=float), 0
    ranks = table.rank(axis=1, ascending=False)
    return ranks.mean().sort_values(), len(table)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks for k methods over n panels."""
    if k < 2 or n < 1:
        return float("nan")
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


def plot_ranks(frame: pd.DataFrame, path: Path, metric: str = "task_acc") -> None:
    ranks, n = mean_ranks(frame, metric)
    k = len(ranks)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.35 * max(k, 1)))
    if k == 0:
        ax.text(0.5, 0.5, "no strategy ran in every panel", ha="center", va="center")
        ax.set_axis_off()
    else:
        cd = critical_difference(k, n)
        ax.scatter(ranks.values, np.arange(k), color="C0", zorder=3)
        for y, (name, rank) in enumerate(ranks.items()):
            ax.annotate(f"{name} ({rank:.2f})", (rank, y), xytext=(8, -4),
                        textcoords="offset points", fontsize=9)
        if np.isfinite(cd):
            ax.plot([1, 1 + cd], [k - 0.4, k - 0.4], color="k", lw=2)
            ax.text(1 + cd / 2, k - 0.2, f"CD = {cd:.2f}", ha="center", fontsize=8)
        ax.set_xlim(0.5, max(k, 2) + 0.9)
        ax.set_ylim(-0.8, k + 0.2)
        ax.set_yticks([])
        ax.set_xlabel(f"mean rank by AULC of {metric} over {n} panel(s) (1 = best)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_title("Strategies whose mean ranks differ by less than CD are not "
                     "distinguishable (Nemenyi, 0.05)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

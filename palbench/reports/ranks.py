"""Mean ranks of the lines of a report (strategies by default, or whatever the hue names) across
panels, as Demsar (JMLR 2006) prescribes for comparing methods over many data sets: a Friedman
test first; only when it rejects "all ranks equal" does the Nemenyi critical difference say
which mean ranks are apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from palbench.reports.metrics import CELL_KEYS, per_run

BLOCKS = ("panel", "seed")


def rank_table(frame: pd.DataFrame, metric: str = "task_acc", hue: str = "strategy",
               blocks: str = "panel") -> pd.DataFrame:
    """Mean AULC per block (rows) and line (columns), for the lines present in every block (a
    complete block design). Panels are the combinations of the cell keys other than `hue`; a
    block is a panel, or with blocks = "seed" one seed of a panel (every line of a seed saw
    the same data split and start, so they pair; ten seeds on three data sets give thirty
    blocks where three panels alone can hardly reject anything)."""
    summary = per_run(frame, metric)
    if hue not in summary:  # a derived line column (report --panels): bring it per run
        summary = summary.merge(frame[["run_id", hue]].drop_duplicates(), on="run_id")
    rows = [k for k in CELL_KEYS if k != hue and k in summary]
    if blocks == "seed":
        rows.append("seed")
    table = summary.groupby(rows + [hue])["aulc"].mean().unstack(hue)
    return table.dropna(axis=1)


def mean_ranks(frame: pd.DataFrame, metric: str = "task_acc", hue: str = "strategy",
               blocks: str = "panel") -> tuple[pd.Series, int]:
    """Mean rank (1 = best mean AULC) of each line present in every block, and the number of
    blocks."""
    table = rank_table(frame, metric, hue, blocks)
    if table.empty:
        return pd.Series(dtype=float), 0
    ranks = table.rank(axis=1, ascending=False)
    return ranks.mean().sort_values(), len(table)


def friedman(frame: pd.DataFrame, metric: str = "task_acc", hue: str = "strategy",
             blocks: str = "panel") -> float:
    """Friedman test p-value that all lines rank alike across blocks; NaN when it cannot be
    computed (fewer than 3 lines or 2 blocks)."""
    table = rank_table(frame, metric, hue, blocks)
    if table.shape[1] < 3 or table.shape[0] < 2:
        return float("nan")
    if (table.rank(axis=1).nunique(axis=0) == 1).all():  # identical ranks in every panel
        return 0.0 if table.shape[0] > 1 else float("nan")
    return float(stats.friedmanchisquare(*[table[c] for c in table.columns]).pvalue)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks for k methods over n panels."""
    if k < 2 or n < 1:
        return float("nan")
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))

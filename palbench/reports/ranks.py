"""Mean ranks of the lines of a report (strategies by default, or whatever the hue names) across
panels, as Demsar (JMLR 2006) prescribes for comparing methods over many data sets: a Friedman
test first; only when it rejects "all ranks equal" does the Nemenyi critical difference say
which mean ranks are apart. Where the blocks are few, both come from the exact permutation
distribution of the rank sums (every arrangement of each block's ranks), not from the chi2
and studentized-range approximations, which are far off there (docs/statistics.md)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from palbench.reports.metrics import per_run
from palbench.results.schema import CELL_KEYS

ALPHA = 0.05
EXACT_MAX_ARRANGEMENTS = 10 ** 6  # (k!)^(n-1) without ties: enumerated up to this many


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
    return table.rank(axis=1, ascending=False).mean().sort_values(), len(table)


@dataclass(frozen=True)
class RankTest:
    """Friedman's test of "all lines rank alike" over n blocks of k lines, and the Nemenyi
    critical difference (CD) of mean ranks; `exact`: both from the enumerated permutation
    distribution, else chi2 and the studentized range. p and statistic are NaN below 3 lines
    or 2 blocks; cd is +inf when no difference of mean ranks is rare enough at alpha."""

    ranks: pd.Series  # mean rank per line, best (1) first
    n: int
    statistic: float  # Friedman's chi2, corrected for ties (scipy's)
    p: float
    cd: float
    exact: bool
    alpha: float = ALPHA

    @property
    def k(self) -> int:
        return len(self.ranks)

    @property
    def method(self) -> str:
        return "exact Friedman" if self.exact else "Friedman (chi2 approximation)"

    def separated(self) -> list[tuple[str, str]]:
        """The pairs of lines whose mean ranks are at least CD apart, only when the Friedman
        test rejects (Demsar's procedure)."""
        if not self.p < self.alpha or not math.isfinite(self.cd):
            return []
        return [(a, b) for a, b in itertools.combinations(self.ranks.index, 2)
                if abs(self.ranks[a] - self.ranks[b]) >= self.cd - 1e-9]

    def sentence(self, unit: str = "panels") -> str:
        """The test as one line of a report, naming its method."""
        if math.isnan(self.p):
            return (f"The Friedman test needs at least 3 lines and 2 {unit} ({self.k} and "
                    f"{self.n} here): the ranks are not tested.")
        head = (f"{self.method} p = {self.p:.2g} (chi2 = {self.statistic:.3g} on {self.k - 1} "
                f"df, {self.k} lines over {self.n} {unit})")
        nemenyi = "exact Nemenyi" if self.exact else "Nemenyi"
        if not self.p < self.alpha:
            return f"{head}: no evidence that the ranks differ, so no pair is told apart."
        if not math.isfinite(self.cd):
            return (f"{head}: the ranks differ, but with {self.n} {unit} no difference of "
                    f"mean ranks is rare enough to tell a pair apart ({nemenyi}, "
                    f"{self.alpha:g}).")
        apart = self.separated()
        told = (f"{len(apart)} pair(s) are: " + ", ".join(f"{a} / {b}" for a, b in apart)
                if apart else "no pair here is")
        return (f"{head}: the ranks differ; mean ranks at least CD = {self.cd:.2f} apart "
                f"({nemenyi}, {self.alpha:g}) are told apart, and {told}.")


def arrangements(row: np.ndarray) -> int:
    """The distinct orders of one block's ranks: k! over the ties' factorials."""
    _, counts = np.unique(row, return_counts=True)
    return math.factorial(len(row)) // math.prod(math.factorial(int(c)) for c in counts)


def rank_sum_distribution(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every rank-sum vector that rearranging the ranks within blocks 2..n can give, with its
    count (block 1 stays: the statistics are symmetric in the lines). `ranks`: n x k
    integers (ranks doubled, so midranks stay whole)."""
    sums, counts = ranks[:1].copy(), np.ones(1)
    for row in ranks[1:]:
        orders = np.unique(np.array(list(itertools.permutations(row))), axis=0)
        grown = (sums[:, None, :] + orders[None, :, :]).reshape(-1, ranks.shape[1])
        sums, inverse = np.unique(grown, axis=0, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=np.repeat(counts, len(orders)))
    return sums, counts


def friedman_test(table: pd.DataFrame, alpha: float = ALPHA) -> RankTest:
    """Friedman's test and the Nemenyi CD on a blocks x lines table of values (higher is
    better): exact when the arrangements to enumerate are at most EXACT_MAX_ARRANGEMENTS,
    else chi2 and the studentized range."""
    ranked = table.rank(axis=1, ascending=False)
    ranks = ranked.mean().sort_values()
    n, k = table.shape
    nan = float("nan")
    if k < 3 or n < 2:
        return RankTest(ranks, n, nan, nan, nan, False, alpha)
    doubled = (2 * ranked.to_numpy()).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        chi2 = stats.friedmanchisquare(*table.to_numpy().T)
    statistic = float(chi2.statistic) if np.isfinite(chi2.statistic) else 0.0
    if math.prod(arrangements(row) for row in doubled[1:]) <= EXACT_MAX_ARRANGEMENTS:
        sums, counts = rank_sum_distribution(doubled)
        total = counts.sum()
        observed = int((doubled.sum(axis=0) ** 2).sum())
        p = float(counts[(sums ** 2).sum(axis=1) >= observed].sum() / total)
        spread = sums.max(axis=1) - sums.min(axis=1)  # of the doubled rank sums
        tail = {int(d): counts[spread >= d].sum() / total for d in np.unique(spread)}
        rare = [d for d, share in tail.items() if share <= alpha]
        cd = min(rare) / (2 * n) if rare else math.inf
        return RankTest(ranks, n, statistic, p, cd, True, alpha)
    p = float(chi2.pvalue) if np.isfinite(chi2.pvalue) else 1.0  # every block all tied
    return RankTest(ranks, n, statistic, p, critical_difference(k, n, alpha), False, alpha)


def rank_test(frame: pd.DataFrame, metric: str = "task_acc", hue: str = "strategy",
              blocks: str = "panel", alpha: float = ALPHA) -> RankTest:
    """The mean ranks of the lines present in every block, with Friedman's test and the
    Nemenyi CD."""
    return friedman_test(rank_table(frame, metric, hue, blocks), alpha)


def critical_difference(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi critical difference of mean ranks for k methods over n panels, from the
    studentized range (Demsar 2006: the large-n approximation)."""
    if k < 2 or n < 1:
        return float("nan")
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))

"""palbench's numbers beside a published table.

A published table gives, per strategy, the mean and standard deviation of a statistic over n
trials. A CSV with the columns of PUBLISHED_COLUMNS holds it (one row per cell of the table);
each row is set beside the same statistic over palbench's runs of that dataset and strategy,
both with a 95% t interval of the mean, and their difference with a Welch interval. A
difference whose interval excludes 0 is reported as such, never tuned away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.integrate import trapezoid

from palbench.errors import ConfigError
from palbench.reports.metrics import one_run_per_seed, per_run
from palbench.reports.tables import Block, Heading, Paragraph, Table

# statistic -> what it is, computed from a run's task_acc curve
STATISTICS = {
    "aulc": "area under the task_acc-vs-cost curve over the budget range (AUBC)",
    "mean_acc": "mean task_acc over the checkpoints",
    "final": "task_acc at the last checkpoint",
    # Zhan et al.'s and Lu et al.'s AUBC: trapezoids over the accuracies after each query at
    # unit spacing (the initial model's accuracy left out), over the number of queries
    "aubc_queries": "trapezoid area of task_acc after each query (the first checkpoint left "
                    "out), divided by the number of those checkpoints (Zhan et al.'s AUBC)",
}
PUBLISHED_COLUMNS = ["dataset", "strategy", "source_name", "statistic", "mean", "std", "n"]


def read_published(path: str | Path) -> pd.DataFrame:
    """The published rows, checked: every column present, known statistics, n >= 2."""
    try:
        table = pd.read_csv(path, comment="#")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError("--published", str(path), f"cannot read it ({exc})") from None
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError("--published", str(path), f"lacks column {missing[0]!r} (needs "
                          + ", ".join(PUBLISHED_COLUMNS) + ")")
    unknown = sorted(set(table["statistic"]) - set(STATISTICS))
    if unknown:
        raise ConfigError("--published", str(path), f"statistic {unknown[0]!r} is not one of "
                          + ", ".join(STATISTICS))
    if (pd.to_numeric(table["n"], errors="coerce").fillna(0) < 2).any():
        raise ConfigError("--published", str(path), "every row needs n >= 2 trials")
    return table


def aubc_after_queries(acc: np.ndarray) -> float:
    """Zhan et al.'s AUBC of one run's accuracies in budget order (np.trapz(acc[1:], dx=1) /
    (len(acc) - 1) in their code): NaN for a run of a single checkpoint."""
    if len(acc) < 2:
        return float("nan")
    return float(trapezoid(acc[1:], dx=1.0) / (len(acc) - 1))


def run_statistics(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run: dataset, strategy, seed and every statistic of STATISTICS."""
    runs = per_run(frame, "task_acc")
    curves = one_run_per_seed(frame).sort_values(["run_id", "budget"]).groupby("run_id")
    mean_acc = curves["task_acc"].mean()
    aubc = curves["task_acc"].apply(lambda acc: aubc_after_queries(acc.to_numpy(float)))
    return runs.assign(mean_acc=runs["run_id"].map(mean_acc),
                       aubc_queries=runs["run_id"].map(aubc))[
        ["dataset", "strategy", "seed", "aulc", "mean_acc", "final", "aubc_queries"]]


def t_interval(mean: float, std: float, n: int) -> tuple[float, float]:
    """The 95% t interval of a mean from its summary (what a published table gives)."""
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=std / np.sqrt(n))
    return float(low), float(high)


def welch_interval(a: tuple[float, float, int], b: tuple[float, float, int]):
    """The difference of two means (a - b) with its 95% Welch interval."""
    (m1, s1, n1), (m2, s2, n2) = a, b
    v1, v2 = s1 ** 2 / n1, s2 ** 2 / n2
    se = np.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1)) if se > 0 else n1 + n2 - 2
    half = stats.t.ppf(0.975, df) * se
    return m1 - m2, m1 - m2 - half, m1 - m2 + half


def against_published(frame: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Each published row beside palbench's runs of its dataset and strategy."""
    runs = run_statistics(frame)
    rows = []
    for row in published.itertuples(index=False):
        mine = runs[(runs["dataset"] == row.dataset) & (runs["strategy"] == row.strategy)]
        values = mine[row.statistic].dropna().to_numpy(float)
        theirs = (float(row.mean), float(row.std), int(row.n))
        entry = {"dataset": row.dataset, "strategy": row.strategy,
                 "source_name": row.source_name, "statistic": row.statistic,
                 "published": theirs, "palbench": None, "difference": None}
        if len(values) >= 2:
            ours = (float(values.mean()), float(values.std(ddof=1)), len(values))
            entry.update(palbench=ours, difference=welch_interval(ours, theirs))
        rows.append(entry)
    return pd.DataFrame(rows)


def _summary(triple) -> str:
    if triple is None:
        return "no runs (fewer than 2 seeds)"
    mean, std, n = triple
    low, high = t_interval(mean, std, n)
    return f"{mean:.4f} ± {std:.4f} (n = {n}) [{low:.4f}, {high:.4f}]"


def published_blocks(frame: pd.DataFrame, published: pd.DataFrame) -> list[Block]:
    """The comparison as a report section."""
    table = against_published(frame, published)
    shown = pd.DataFrame({
        "dataset": table["dataset"], "strategy": table["strategy"],
        "published as": table["source_name"], "statistic": table["statistic"],
        "published: mean ± sd (n) [95% CI]": table["published"].map(_summary),
        "palbench: mean ± sd (n) [95% CI]": table["palbench"].map(_summary),
        "palbench - published [95% Welch CI]": [
            "-" if d is None else f"{d[0]:+.4f} [{d[1]:+.4f}, {d[2]:+.4f}]"
            for d in table["difference"]],
        "reading": ["-" if d is None else "consistent" if d[1] <= 0 <= d[2] else
                    ("palbench higher" if d[0] > 0 else "palbench lower")
                    for d in table["difference"]]})
    used = ", ".join(f"{k}: {STATISTICS[k]}" for k in dict.fromkeys(table["statistic"]))
    return [Heading("Against the published table"),
            Paragraph(f"Statistics: {used}. Intervals: 95% t intervals of the mean over "
                      "trials; the difference's is Welch's. \"consistent\": the difference's "
                      "interval holds 0."),
            Table(shown)]

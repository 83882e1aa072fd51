"""Compare two versions of results (tags or palbench versions) cell by cell.

A cell is dataset x oracle x costs x learner x strategy (matched by name, so a changed default
that altered the spec hash still pairs up). Per cell: the candidate's change in final accuracy,
AULC and cost to reach a target accuracy, paired over shared seeds, with a 95% t interval of
the mean change (stats.mean_ci; none below 2 seeds); a regression is flagged when the whole
interval lies on the worse side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from palbench.errors import ConfigError
from palbench.reports.metrics import per_run, shown_keys
from palbench.reports.stats import INTERVAL_MIN_SEEDS, mean_ci
from palbench.results.schema import CELL_KEYS as CELL


def select(frame: pd.DataFrame, ref: str, field: str) -> pd.DataFrame:
    """Runs tagged `ref`, or else of palbench version `ref`."""
    tagged = frame[frame["tag"] == ref]
    if not tagged.empty:
        return tagged
    versioned = frame[frame["palbench_version"] == ref]
    if versioned.empty:
        tags = sorted(t for t in frame["tag"].dropna().unique())
        versions = sorted(frame["palbench_version"].unique())
        raise ConfigError(field, ref, f"no runs with that tag or palbench version; tags: "
                          f"{', '.join(tags) or 'none'}; versions: {', '.join(versions)}")
    return versioned


def run_values(frame: pd.DataFrame, target: float) -> pd.DataFrame:
    """Final accuracy, AULC and cost to reach `target` of each run, one run per cell and seed."""
    runs = per_run(frame, "task_acc", {"cost_to_reach": target})
    return runs.rename(columns={"final": "final_acc"})


def compare(frame: pd.DataFrame, baseline: str, candidate: str,
            target: float = 0.9) -> pd.DataFrame:
    base = run_values(select(frame, baseline, "--baseline"), target)
    cand = run_values(select(frame, candidate, "--candidate"), target)
    paired = base.merge(cand, on=CELL + ["seed"], suffixes=("_base", "_cand"))
    rows = []
    for key, cell in paired.groupby(CELL, sort=True):
        row = dict(zip(CELL, key))
        row["seeds"] = len(cell)
        regression = []
        for metric, worse_if in (("final_acc", "lower"), ("aulc", "lower"),
                                 ("cost_to_reach", "higher")):
            cand, base = cell[f"{metric}_cand"].to_numpy(), cell[f"{metric}_base"].to_numpy()
            neither = np.isinf(cand) & np.isinf(base)  # no change to measure: left out, counted
            delta = cand[~neither] - base[~neither]  # one side missing: an infinite change
            row[f"d_{metric}"] = mean_ci(delta) if len(delta) else None
            row[f"n_{metric}_neither"] = int(neither.sum())
            if len(delta) >= INTERVAL_MIN_SEEDS:
                mean, low, high = row[f"d_{metric}"]
                if (worse_if == "lower" and high < 0) or (worse_if == "higher" and low > 0):
                    regression.append(metric)
        row["regression"] = ", ".join(regression)
        rows.append(row)
    return pd.DataFrame(rows)


def change_text(change, neither: int = 0, seeds: int = 0) -> str:
    """A change with its interval, or why it has none; seeds where neither side reached the
    target are said, not counted as a change of zero (or of inf - inf)."""
    if change is None:
        return "not reached on either side"
    mean, low, high = change
    if np.isnan(low) or np.isnan(high):
        text = f"{mean:+.3g} ({change.why})"
    else:
        text = f"{mean:+.3g} [{low:+.3g}, {high:+.3g}]"
    return text + (f" (neither reached it in {neither} of {seeds} seeds)" if neither else "")


def markdown(table: pd.DataFrame, baseline: str, candidate: str, target: float) -> str:
    keys = shown_keys(table, CELL)
    lines = [f"# {candidate} against {baseline}", "",
             "Change of the candidate, paired over shared seeds: mean [95% t interval of the "
             "mean change; none below 2 seeds]. "
             "A regression is flagged when the whole interval is on the worse side. Cost to "
             f"reach {target:g} task accuracy; a run that never reaches it counts as infinite, "
             "and a seed where neither side reaches it is left out of the change and counted.",
             "", "| " + " | ".join(keys) + " | seeds | final acc | AULC | cost to reach | "
             "regression |", "|" + "---|" * (len(keys) + 5)]
    for row in table.itertuples():
        reach = change_text(row.d_cost_to_reach, row.n_cost_to_reach_neither, row.seeds)
        lines.append("| " + " | ".join(str(getattr(row, k)) for k in keys) +
                     f" | {row.seeds} | {change_text(row.d_final_acc)} | "
                     f"{change_text(row.d_aulc)} | {reach} | {row.regression or '-'} |")
    return "\n".join(lines)

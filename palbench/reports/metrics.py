"""Per-run values, computed in one place for the leaderboard, ranks, compare and claims: final
value, AULC, final cost, free exemplars and cost to reach a target. Also the keys that name a
cell and a panel, and the rule that one seed of a cell counts once."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy.integrate import trapezoid

from palbench.results.schema import CELL_KEYS, SELF


def panel_title(keys: list[str], values: tuple) -> str:
    """A panel's title: its dataset, then the other keys that name it (the default price list,
    and a learner selecting for itself, left out)."""
    parts = [f"{k} {v}" if k != "dataset" else str(v)
             for k, v in zip(keys, values) if not (k == "costs" and v == "costs") and
             not (k == "selection_learner" and v == SELF)]
    return " | ".join(parts)


ORACLE_MARK = " (oracle line)"  # how a reference line that reads the truth is labelled


def oracle_lines(frame: pd.DataFrame) -> set[str]:
    """The strategies whose runs read the truth by design (greedy_oracle): reference lines,
    drawn and tabled as such, kept out of ranks and verdicts."""
    if "reads_truth" not in frame:
        return set()
    return set(frame.loc[frame["reads_truth"].fillna(0).astype(int) == 1, "strategy"])


def without_oracle_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ordinary strategies: what ranks, paired verdicts and claims compare."""
    lines = oracle_lines(frame)
    return frame[~frame["strategy"].isin(lines)] if lines else frame


def full_pool_bounds(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per panel, the full-pool bound of every seed that measured it (one value per seed: it
    does not depend on the strategy): the panel keys, seed and full_pool_acc."""
    if "full_pool_acc" not in frame or frame["full_pool_acc"].isna().all():
        return pd.DataFrame(columns=[*keys, "seed", "full_pool_acc"])
    rows = frame.dropna(subset=["full_pool_acc"])
    return rows.groupby([*keys, "seed"], sort=True)["full_pool_acc"].first().reset_index()


def shown_keys(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    """The keys worth a column: selection_learner only where some learner did not select
    for itself."""
    if "selection_learner" in keys and "selection_learner" in frame \
            and (frame["selection_learner"] == SELF).all():
        return [k for k in keys if k != "selection_learner"]
    return keys


def stops_of(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (one per cell and seed) and stopping criterion, from the runs'
    stops_json: the cell keys, seed, run_id, criterion, stopped, budget, cost, task_acc and
    loss (final accuracy minus accuracy at the stop)."""
    frame = one_run_per_seed(frame)
    keys = CELL_KEYS + ["seed", "run_id"]
    rows = []
    if "stops_json" in frame:
        for key, text in frame.drop_duplicates("run_id").set_index(keys)["stops_json"].items():
            if isinstance(text, str):
                for criterion, stop in json.loads(text).items():
                    rows.append({**dict(zip(keys, key)), "criterion": criterion, **stop})
    columns = keys + ["criterion", "stopped", "budget", "cost", "task_acc", "loss"]
    return pd.DataFrame(rows, columns=columns)


def total_costs(stops: pd.DataFrame, frame: pd.DataFrame, mistake_cost: float) -> pd.DataFrame:
    """Pullar-Strecker et al.'s cost model (2024): what a stop costs is the labels paid for
    plus the mistakes the model then makes over its life, `cost + mistake_cost * (1 -
    accuracy)`, with mistake_cost the price of a mistake times the predictions it will make.
    Adds to each stop its `total` and its `excess` over the cheapest checkpoint of its run
    (the cost-based optimum a criterion aims at)."""
    curve = one_run_per_seed(frame)
    optimum = (curve["cost"] + mistake_cost * (1 - curve["task_acc"])).groupby(
        curve["run_id"]).min()
    total = stops["cost"] + mistake_cost * (1 - stops["task_acc"])
    return stops.assign(total=total, excess=total - stops["run_id"].map(optimum))


def aulc(budgets: np.ndarray, acc: np.ndarray) -> float:
    """Normalised area under the accuracy-vs-cost curve over [first, last] checkpoint budget.

    Trapezoids between checkpoints divided by the budget range, so a constant accuracy a has
    AULC a. A single checkpoint gives its accuracy.
    """
    budgets, acc = np.asarray(budgets, float), np.asarray(acc, float)
    if len(budgets) == 1:
        return float(acc[0])
    return float(trapezoid(acc, budgets) / (budgets[-1] - budgets[0]))


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


def with_cell_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every cell key: rows that name no selection learner (made before there
    was one) had their learner select."""
    return frame if "selection_learner" in frame else frame.assign(selection_learner=SELF)


def one_run_per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep, for each cell and seed, only the latest run (highest run_id).

    The store holds one run per complete cell, but a cell can still appear twice: under two
    tags or two palbench versions. Counting both would double its seeds and shrink every
    interval, so reports keep the newest. (Two specs under the same names are two cells:
    cells.told_apart labels them apart before this is asked.)"""
    frame = with_cell_keys(frame)
    if frame.empty:
        return frame
    latest = frame.groupby(CELL_KEYS + ["seed"])["run_id"].transform("max")
    return frame[frame["run_id"] == latest]


def per_run(frame: pd.DataFrame, metric: str = "task_acc",
            targets: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per run (one per cell and seed, see one_run_per_seed): its cell keys, seed,
    run_id, `final` value of the metric, `final_cost`, `n_free`, `aulc`, and for each
    name -> target of `targets` the cost to reach that value of the metric."""
    frame = one_run_per_seed(frame)
    keys = CELL_KEYS + ["seed", "run_id"]
    rows = []
    for key, run in frame.sort_values("budget").groupby(keys, sort=True):
        values = run[metric].to_numpy(float)
        row = {**dict(zip(keys, key)), "final": float(values[-1]),
               "final_cost": float(run["cost"].iloc[-1]),
               "first_cost": float(run["cost"].iloc[0]),
               "n_free": int(run["n_free"].iloc[-1]) if "n_free" in run else 0,
               "aulc": aulc(run["budget"].to_numpy(), values)}
        for name, target in (targets or {}).items():
            row[name] = cost_to_reach(run["cost"].to_numpy(), values, target)
        rows.append(row)
    return pd.DataFrame(rows, columns=keys + ["final", "final_cost", "first_cost", "n_free",
                                              "aulc"] +
                        list(targets or {}))

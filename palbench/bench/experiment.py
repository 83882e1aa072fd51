"""The `[experiment]` table: its declared fields, and how the table is read (a budget grid or a
seed range written as a table, `stop = "pool"`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from palbench.errors import check
from palbench.fields import param
from palbench.graph import CLOSURES, CONFLICT_RULES
from palbench.params import build, coerce, unknown_key_error

DATA_SEEDS = ("fixed", "run")
INITIAL_BY = ("random", "per_class")


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """The `[experiment]` table: seeds, cumulative cost budgets, queries per round."""

    # the experiment's name in results (runs.experiment)
    name: str = param("palbench", results=False)
    # one run per seed, or { start, stop } (both included); each cell's own seed is its spec's
    seeds: tuple[int, ...] = param((0,), results=False, ge=0, lt=2**63,
                                   note="the store keeps seeds as 64-bit integers")
    # cumulative costs to evaluate at, or { start, stop, step } (stop = "pool": to the whole pool)
    budgets: tuple[float, ...] = param((10.0, 20.0, 40.0), gt=0)
    # queries per round (fewer when the budget left cannot pay more)
    batch_size: int = param(10, ge=1)
    probe: bool = True  # also fit a linear probe on the learner's embedding (probe_acc)
    # how contradicting answers resolve: majority, first or drop
    conflict_rule: str = param("majority", choices=CONFLICT_RULES)
    # what learners see: the closure of the answers, or raw ones
    closure: str = param("transitive", choices=CLOSURES)
    # "run": generated datasets are drawn anew for every run seed
    data_seed: str = param("fixed", choices=DATA_SEEDS)
    # labels asked before the first round (Zhan et al., Lu et al.: 20)
    initial: int = param(0, late=True, ge=0)
    # or "per_class": `initial` samples of every class
    initial_by: str = param("random", late=True, choices=INITIAL_BY)
    # false: the initial labels are free (counted in n_free)
    initial_charged: bool = param(True, late=True)
    # true: each run also records the full-pool bound (full_pool_acc)
    full_pool: bool = param(False, late=True)
    # set by `budgets = { ..., stop = "pool" }` (never written as a key): the grid's step,
    # its budgets then running on to labelling each dataset's whole pool (see for_dataset,
    # which writes them into `budgets`, the field the spec holds)
    pool_step: float = param(0.0, results=False)

    def for_dataset(self, payable: float) -> Experiment:
        """This experiment with its budgets run on to `payable` (what labelling the whole
        pool costs) when the grid stops at "pool"; else itself."""
        if not self.pool_step:
            return self
        start, step = self.budgets[0], self.pool_step
        count = int(np.floor((payable - start) / step + 1e-9)) + 1
        grid = [start + i * step for i in range(max(count, 1))]
        if grid[-1] < payable - 1e-9:
            grid.append(payable)
        return dataclasses.replace(self, budgets=tuple(grid))

    def validate(self, where):
        """The rules across a list's elements (each element's range is declared)."""
        check(len(self.seeds) > 0, f"{where}.seeds", list(self.seeds), "needs at least one seed")
        check(len(set(self.seeds)) == len(self.seeds), f"{where}.seeds", list(self.seeds),
              "seeds must not repeat")
        check(len(self.budgets) > 0, f"{where}.budgets", list(self.budgets),
              "needs at least one budget")
        for i in range(1, len(self.budgets)):
            check(self.budgets[i] > self.budgets[i - 1], f"{where}.budgets[{i}]",
                  self.budgets[i], f"budgets are cumulative and must increase (previous: "
                  f"{self.budgets[i - 1]:g})")


BUDGET_GRID_KEYS = ("start", "stop", "step")


def budget_grid(table: dict, where: str) -> list[float]:
    """`budgets = { start = 21, stop = 426, step = 1 }`: every budget from start to stop;
    start defaults to step. `stop = "pool"` runs on to labelling each dataset's whole pool
    (one sample at a time to the end, as Zhan et al. and Lu et al. query). The spec holds the
    list, so it hashes as the same list written out."""
    for key in table:
        if key not in BUDGET_GRID_KEYS:
            raise unknown_key_error(f"{where}.{key}", key, table[key], list(BUDGET_GRID_KEYS))
    check("stop" in table and "step" in table, where, table, "a budget grid needs stop and "
          "step (start defaults to step)")
    step = coerce(table["step"], float, f"{where}.step")
    stop = coerce(table["stop"], float, f"{where}.stop")
    start = coerce(table.get("start", step), float, f"{where}.start")
    check(step > 0, f"{where}.step", step, "must be positive")
    check(start > 0, f"{where}.start", start, "must be positive")
    check(stop >= start, f"{where}.stop", stop, f"must be at least start ({start:g})")
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    check(count <= 100_000, where, table, f"makes {count:,} budgets; at most 100,000")
    return [start + i * step for i in range(count)]


def seed_range(table: dict, where: str) -> list[int]:
    """`seeds = { start = 0, stop = 149 }`: every seed from start to stop, both included (150
    trials, as Zhan et al. run them)."""
    for key in table:
        if key not in ("start", "stop"):
            raise unknown_key_error(f"{where}.{key}", key, table[key], ["start", "stop"])
    check("stop" in table, where, table, "a seed range needs stop (start defaults to 0)")
    start = coerce(table.get("start", 0), int, f"{where}.start")
    stop = coerce(table["stop"], int, f"{where}.stop")
    check(stop >= start, f"{where}.stop", stop, f"must be at least start ({start})")
    check(stop - start < 100_000, where, table, "at most 100,000 seeds")
    return list(range(start, stop + 1))


def read_experiment(raw: dict) -> Experiment:
    """The `[experiment]` table of a config (defaults where it is left out), its budget grid
    and seed range written out."""
    check(isinstance(raw.get("experiment", {}), dict), "experiment", raw.get("experiment"),
          "must be a single table [experiment]")
    table = dict(raw.get("experiment", {}))
    if "pool_step" in table:
        raise unknown_key_error("experiment.pool_step", "pool_step", table["pool_step"],
                                [f.name for f in dataclasses.fields(Experiment)
                                 if f.name != "pool_step"])
    if isinstance(table.get("budgets"), dict):
        grid = dict(table["budgets"])
        if grid.get("stop") == "pool" and "step" in grid:
            step = coerce(grid["step"], float, "experiment.budgets.step")
            grid["stop"] = coerce(grid.get("start", step), float, "experiment.budgets.start")
            table["pool_step"] = step
        table["budgets"] = budget_grid(grid, "experiment.budgets")
    if isinstance(table.get("seeds"), dict):
        table["seeds"] = seed_range(table["seeds"], "experiment.seeds")
    return build(Experiment, table, "experiment", reserved=())

"""The Python API: the command line's twin.

    import palbench
    results = palbench.run("my.toml", store="runs.sqlite")          # or a dict, or a Plan
    results.frame()                     # the checkpoint rows of this run's cells
    results.compare(baseline="margin")  # paired tests of every strategy against one
    results.report("report/")           # index.html, leaderboard.md, plots

A dict has the TOML's structure; its `name` entries may be classes (a strategy written in a
script or a notebook cell). Bad input raises ConfigError (the CLI's exit 2), a store that
cannot be used StoreError and a learner left with no usable model TrainingDiverged (exit 2
both); an exception in a component's own code raises ComponentError (exit 1), with the
component's frames. Each is a PalbenchError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from palbench.bench.config import Plan, load_plan, plan_from_raw
from palbench.bench.session import RunSummary, run_plan
from palbench.errors import ConfigError


def as_plan(config, base_dir: str | Path = ".") -> Plan:
    """A validated plan from a TOML path, a dict with the TOML's structure, or a plan."""
    if isinstance(config, Plan):
        return config
    if isinstance(config, dict):
        return plan_from_raw(config, Path(base_dir))
    if isinstance(config, (str, Path)):
        return load_plan(config)
    raise ConfigError("config", type(config).__name__, "must be a TOML path, a dict with the "
                      "TOML's structure, or a palbench plan")


def run(config, *, store: str | Path | None = None, workers: int = 1, tag: str | None = None,
        force: bool = False, executor: str = "local", address: str | None = None,
        progress: bool = True, batch_cells: int | None = None) -> Results:
    """Run every cell of `config` that the store lacks (all of them with `force`) and return
    its results. `store`: the SQLite file (default $PALBENCH_STORE, else ./palbench.sqlite);
    `workers`: processes (local) or CPUs (Ray) running cells side by side; `tag`: a label
    kept with the runs, so that versions of a strategy sit side by side in one store;
    `batch_cells`: cells run in lockstep with their fits trained as one batch (None: chosen
    from the learner, cores and memory; the rows are the same whatever it is)."""
    from palbench.results.connection import store_path
    from palbench.results.store import ResultsStore

    if not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers", workers, "must be an integer >= 1")
    if executor not in ("local", "ray"):
        raise ConfigError("executor", executor, "must be \"local\" or \"ray\"")
    plan = as_plan(config)
    from palbench.bench.executors import batch_size_for

    batch_size_for(plan.cells, plan.data, workers, batch_cells)  # bad sizes: before the store
    path = store_path(None if store is None else str(store))
    with ResultsStore(path) as results_store:
        summary = run_plan(plan, results_store, workers=workers, force=force, tag=tag,
                           executor=executor, address=address, progress=progress,
                           batch_cells=batch_cells)
    return Results(path, plan, tag, summary)


@dataclass
class Results:
    """What one `palbench.run` produced, read back from its store."""

    store: Path
    plan: Plan
    tag: str | None = None
    summary: RunSummary | None = None
    _hashes: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self):
        self._hashes = {cell.spec_hash() for cell in self.plan.cells}

    def frame(self) -> pd.DataFrame:
        """One row per checkpoint of this plan's cells (this palbench version and tag): the
        run's cell, seed and spec hash, the checkpoint's budget, cost, counts and metrics."""
        from palbench.results.store import ResultsStore

        with ResultsStore(self.store, mode="read") as store:
            return self._mine(store.to_frame())

    def _mine(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of `frame` that belong to this plan, palbench version and tag."""
        import palbench

        keep = frame["spec_hash"].isin(self._hashes) & \
            (frame["palbench_version"] == palbench.__version__) & \
            (frame["tag"].isna() if self.tag is None else frame["tag"] == self.tag)
        return frame[keep].reset_index(drop=True)

    def compare(self, baseline: str = "random", metric: str = "task_acc",
                value: str = "aulc") -> pd.DataFrame:
        """Every strategy against `baseline` (a strategy label), per panel, over the seeds
        both ran: mean paired gain in `value` ("aulc" or "final") of `metric`, the paired
        sign-flip test's p-value (exact up to 12 seeds; never below 2/2^n), Holm-adjusted
        within the panel, the test's name, and a verdict ("better", "worse", "no
        evidence")."""
        from palbench.reports.metrics import per_run
        from palbench.reports.stats import paired_against

        frame = self.frame()
        check_baseline(frame, baseline, "baseline")
        return paired_against(per_run(frame, metric), value, baseline)

    def stops(self) -> pd.DataFrame:
        """One row per run and stopping criterion of this plan: the run's cell keys and seed,
        the criterion, whether it stopped, and the budget, cost, task accuracy and loss at its
        stop (a criterion that never fired counts at the last checkpoint)."""
        from palbench.reports.metrics import stops_of

        return stops_of(self.frame())

    def report(self, out_dir: str | Path, metric: str = "task_acc",
               baseline: str = "random") -> list[Path]:
        """Write the report of this plan's runs (index.html, leaderboard.md, plots) into
        `out_dir`, the paired tests against `baseline`; returns the files written."""
        from palbench.reports.report import write_report
        from palbench.results.store import ResultsStore

        with ResultsStore(self.store, mode="read") as store, store.snapshot():
            frame, runs, pair_runs = self._mine(store.to_frame()), store.runs(), \
                store.pair_runs()
        check_baseline(frame, baseline, "baseline")
        return write_report(frame, Path(out_dir), metric, runs=runs, baseline=baseline,
                            pair_runs=pair_runs)


def check_baseline(frame: pd.DataFrame, baseline: str, field_name: str) -> None:
    """A baseline must be one of the strategies the runs hold."""
    if frame.empty:
        raise ConfigError("store", "", "holds no runs of this plan yet")
    known = sorted(frame["strategy"].unique())
    if baseline not in known:
        raise ConfigError(field_name, baseline, "is not a strategy of these runs; known: " +
                          ", ".join(known))

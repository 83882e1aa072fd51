"""The Python API: the command line's twin.

    import palbench
    results = palbench.run("my.toml", store="runs.sqlite")          # or a dict, or a Plan
    results.frame()                     # the checkpoint rows of this run's cells
    results.compare(baseline="margin")  # paired tests of every strategy against one
    results.report("report/")           # index.html, leaderboard.md, plots
    palbench.report("runs.sqlite", "all/")  # `palbench report`: every run of a store

`palbench run`, `palbench report` and the demo are these functions: one run path, one report
pipeline, one baseline rule (`check_baseline`).

A dict has the TOML's structure; its `name` entries may be classes (a strategy written in a
script or a notebook cell). Bad input raises ConfigError (the CLI's exit 2), a store that
cannot be used StoreError and a learner left with no usable model TrainingDiverged (exit 2
both); an exception in a component's own code raises ComponentError (exit 1), with the
component's frames. Each is a PalbenchError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from palbench.bench.config import load_plan, plan_from_raw
from palbench.bench.grid import Plan
from palbench.bench.session import RunSummary, run_plan
from palbench.errors import ConfigError, check


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
        progress: bool = True, batch_cells: int | None = None,
        verbose: bool = False) -> Results:
    """Run every cell of `config` that the store lacks (all of them with `force`) and return
    its results; `palbench run` and the demo are this function. `store`: the SQLite file
    (default $PALBENCH_STORE, else ./palbench.sqlite), opened or created only once nothing
    refuses the run; `workers`: processes (local) or CPUs (Ray) running cells side by side;
    `tag`: a label kept with the runs, so that versions of a strategy sit side by side in one
    store; `batch_cells`: cells run in lockstep with their fits trained as one batch (None:
    chosen from the learner, cores and memory; the rows are the same whatever it is);
    `verbose`: Ray's own log lines too. A Ctrl-C stops the run and returns what finished
    (`summary.interrupted`)."""
    from palbench.bench.session import check_before_store
    from palbench.results.connection import store_path
    from palbench.results.store import ResultsStore

    if not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers", workers, "must be an integer >= 1")
    if executor not in ("local", "ray"):
        raise ConfigError("executor", executor, "must be \"local\" or \"ray\"")
    plan = as_plan(config)
    check_before_store(plan, workers=workers, executor=executor, batch_cells=batch_cells,
                       address=address)
    path = store_path(None if store is None else str(store))
    with ResultsStore(path) as results_store:
        summary = run_plan(plan, results_store, workers=workers, force=force, tag=tag,
                           executor=executor, address=address, progress=progress,
                           verbose=verbose, batch_cells=batch_cells)
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
        if frame.empty:
            raise ConfigError("store", str(self.store), "holds no runs of this plan yet")
        check_baseline(frame, baseline, "baseline")
        return paired_against(per_run(frame, metric), value, baseline)

    def stops(self) -> pd.DataFrame:
        """One row per run and stopping criterion of this plan: the run's cell keys and seed,
        the criterion, whether it stopped, and the budget, cost, task accuracy and loss at its
        stop (a criterion that never fired counts at the last checkpoint)."""
        from palbench.reports.metrics import stops_of

        return stops_of(self.frame())

    def report(self, out_dir: str | Path, metric: str = "task_acc",
               baseline: str | None = None, **options) -> list[Path]:
        """Write the report of this plan's runs (index.html, leaderboard.md, plots) into
        `out_dir` and return the files written: `palbench report` on these runs only, with
        its options (hue, panels, rank_blocks, published, mistake_cost: see `report`).
        `baseline`: the strategy the paired tests compare every other with (None: random,
        when the runs hold it)."""
        return report(self.store, out_dir, metric=metric, baseline=baseline, only=self._mine,
                      **options).paths


@dataclass
class Report:
    """The files a report wrote, and the report in one line (as `palbench report` prints)."""

    paths: list[Path]
    reading: str


def report(store: str | Path | None, out_dir: str | Path, *, metric: str = "task_acc",
           hue: str = "strategy", panels: list[str] | None = None,
           experiment: str | None = None, rank_blocks: str = "panel",
           baseline: str | None = None, published: str | Path | None = None,
           mistake_cost: float | None = None, only: Callable | None = None,
           spell: Callable[[str], str] | None = None) -> Report:
    """`palbench report` as a function, and the one report pipeline (the command, the demo,
    Results.report). The store's runs are read in one snapshot (`experiment`: only those of
    one [experiment] name; `only`: a function that keeps some rows, as Results keeps its
    plan's), a cell per spec (cells.told_apart); every option is checked against what the
    runs hold before index.html, leaderboard.md and the plots are written into `out_dir`.
    `baseline`: the strategy the paired tests compare every other with (`check_baseline`);
    `spell`: how a message names an option (the CLI passes its flag's spelling)."""
    spell = spell or (lambda name: name)
    from palbench.reports.cells import told_apart
    from palbench.reports.report import one_line_reading
    from palbench.reports.report import write_report as write_files
    from palbench.results.connection import store_path
    from palbench.results.schema import CELL_KEYS, METRICS
    from palbench.results.store import ResultsStore

    check(metric in METRICS, spell("metric"), metric, f"choose from {', '.join(METRICS)}")
    check(hue in CELL_KEYS, spell("hue"), hue, f"choose from {', '.join(CELL_KEYS)}")
    check(panels is None or (bool(panels) and set(panels) <= set(CELL_KEYS)), spell("panels"),
          panels, f"give fields of {', '.join(CELL_KEYS)}")
    check(rank_blocks in ("panel", "seed"), spell("rank_blocks"), rank_blocks,
          "must be \"panel\" or \"seed\"")
    path = store_path(None if store is None else str(store))
    with ResultsStore(path, mode="read") as results_store, results_store.snapshot():
        runs = results_store.runs()
        frame = results_store.to_frame(**({"experiment": experiment} if experiment else {}))
        pair_runs = results_store.pair_runs()
    frame = told_apart(frame if only is None else only(frame), runs)
    if frame.empty:
        if experiment:
            raise ConfigError(spell("experiment"), experiment, "no runs of that experiment in "
                              "the store")
        raise ConfigError("store", str(path), "holds no runs yet; nothing to report" if only
                          is None else "holds no runs of this plan yet")
    if frame[metric].isna().all():
        raise ConfigError(spell("metric"), metric, "no run recorded it (probe_acc needs a "
                          "learner with an embedding and [experiment] probe = true)")
    baseline = check_baseline(frame, baseline, spell("baseline"))
    if published is not None:
        from palbench.reports.published import read_published
        published = read_published(published)
    if mistake_cost is not None and not mistake_cost > 0:
        raise ConfigError(spell("mistake_cost"), mistake_cost, "must be > 0 (cost units per "
                          "unit of test error over the model's life)")
    paths = write_files(frame, Path(out_dir), metric, hue, panels, runs, rank_blocks, baseline,
                        pair_runs, published, mistake_cost)
    return Report(paths, one_line_reading(frame, pair_runs, metric))


def check_baseline(frame: pd.DataFrame, baseline: str | None, field_name: str) -> str:
    """The strategy that paired tests compare every other with. A baseline named must be one
    of the strategies of the runs (random included); None is random when the runs hold it,
    else a report without paired tests (its curves and leaderboard still say something)."""
    if baseline is None:
        return "random"
    known = sorted(frame["strategy"].unique())
    if baseline not in known:
        raise ConfigError(field_name, baseline, "is not a strategy of the runs; known: " +
                          ", ".join(known))
    return baseline

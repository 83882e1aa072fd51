"""Run a plan into a store: the one path from a validated grid to stored runs, shared by
palbench.run (and through it `palbench run` and the demo), claims (missing cells), robustness
studies, verify and the benchmarks.

Cells already complete in the store are skipped; workers compute, this process alone writes;
a cell that another process finished first (two overlapping runs of one grid) is dropped and
counted, never stored twice.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from palbench.bench.config import load_plan
from palbench.bench.grid import Cell, Plan
from palbench.bench.groups import batch_size_for
from palbench.bench.oracle_contract import check_plan_oracles
from palbench.bench.worker_imports import check_workers_can_start
from palbench.errors import StoreError
from palbench.results.store import ResultsStore


@dataclass
class RunSummary:
    planned: int
    skipped: int  # complete in the store before this run started
    written: int = 0
    duplicates: int = 0  # finished here, but another process had written the cell first
    interrupted: bool = False

    def line(self, store_path: Path | str) -> str:
        text = f"palbench: {self.written} runs written, {self.skipped} skipped"
        if self.duplicates:
            text += f", {self.duplicates} already written by another process (dropped)"
        return f"{text}; store: {store_path}"


def check_before_store(plan: Plan, *, workers: int = 1, executor: str = "local",
                       batch_cells: int | None = None, address: str | None = None) -> None:
    """What refuses a run of `plan` before its store is opened or created, so that a refused
    run leaves no file behind: an oracle that breaks its contract on a dry run, a
    --batch-cells the memory cannot hold, and (when cells run in
    other processes: workers > 1, or Ray) a class, a palbench or a script that worker
    processes would not import as this process does, and for Ray a malformed `address` or
    Ray not installed. Judged on every cell of the plan, those already stored included."""
    if executor == "ray":
        from palbench.bench.ray_executor import check_ray

        check_ray(address)
    check_plan_oracles(plan)
    batch_size_for(plan.cells, plan.data, workers, batch_cells)
    if executor == "ray" or workers > 1:
        check_workers_can_start(plan.cells)


def cells_to_run(plan: Plan, store: ResultsStore, force: bool = False,
                 tag: str | None = None) -> list[Cell]:
    """The cells of `plan` that `store` lacks (all of them with `force`)."""
    done = set() if force else store.complete_hashes(tag)
    return [c for c in plan.cells if c.spec_hash() not in done]


TIMED = ["select_seconds", "fit_seconds", "eval_seconds", "pretrain_seconds"]


def but_the_seed(spec_json: str) -> str:
    """A cell's spec without its seed: what its runs under every seed share."""
    spec = json.loads(spec_json)
    spec.pop("seed", None)
    return json.dumps(spec, sort_keys=True)


def stored_seconds(cells: list[Cell], store: ResultsStore) -> list[float | None]:
    """Per cell, the seconds a stored run of the same cell under another seed (or another
    tag or version) computed for, the median when several (a run's seconds: its checkpoints'
    selection, fitting, evaluation and pretraining); None when the store holds none."""
    runs = store.runs()
    if runs.empty:
        return [None] * len(cells)
    per_run = store.checkpoints().groupby("run_id")[TIMED].sum().sum(axis=1)
    like = runs.set_index("run_id")["spec_json"].map(but_the_seed)
    median = per_run.groupby(like.reindex(per_run.index)).median()
    return [None if pd.isna(t := median.get(but_the_seed(c.spec_json()))) else float(t)
            for c in cells]


def duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 2 h 10 min."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def time_estimate(cells: list[Cell], store: ResultsStore, workers: int) -> str:
    """How long running `cells` will take, from the store's own timings of the same cells
    under other seeds (`stored_seconds`), spread over the workers; "time unknown" for the
    cells the store has no such run of. Data loading and process start are not counted."""
    known = [t for t in stored_seconds(cells, store) if t is not None]
    if not known:
        return "time unknown: the store has no run of these cells under another seed to " \
               "time them by"
    text = f"about {duration(sum(known) / min(max(workers, 1), len(known)))}"
    if len(known) == len(cells):
        return f"{text}, from the store's runs of the same cells under other seeds"
    return (f"{text} for the {len(known)} the store has runs of under other seeds; time "
            f"unknown for the other {len(cells) - len(known)}")


def run_plan(plan: Plan, store: ResultsStore, *, workers: int = 1, force: bool = False,
             tag: str | None = None, executor: str = "local", address: str | None = None,
             progress: bool = True, verbose: bool = False,
             batch_cells: int | None = None, say_skipped: bool = True) -> RunSummary:
    """Run every cell of `plan` that `store` lacks (all of them with `force`); a Ctrl-C stops
    the run and returns what was written so far (interrupted=True). `verbose`: Ray's own
    log lines too. `batch_cells`: cells a lockstep group holds (their fits trained as one
    batch); None chooses it from the learner, the cores and the memory. `say_skipped`: one
    line on stderr when complete cells are skipped (callers that say it their own way:
    False)."""
    from tqdm import tqdm

    from palbench.bench.executors import run_cells

    check_plan_oracles(plan)  # callers without check_before_store (claims, studies) too
    todo = cells_to_run(plan, store, force, tag)
    batch_cells = batch_size_for(todo, plan.data, workers, batch_cells)
    summary = RunSummary(planned=len(plan.cells), skipped=len(plan.cells) - len(todo))
    if summary.skipped and say_skipped:
        print(f"palbench: {summary.skipped} of {summary.planned} runs already complete in "
              f"{store.path}; skipping them (--force re-runs)", file=sys.stderr)
    bar = tqdm(total=sum(len(c.experiment.budgets) for c in todo), unit="ckpt",
               desc=f"{plan.experiment.name}: {len(todo)} runs", disable=not progress or None,
               file=sys.stderr)

    def on_result(result):
        try:
            stored = store.write_run(result, replace=force, tag=tag)
        except StoreError as exc:  # a full disk, a file-size limit: the runs before stay
            raise StoreError(exc.path, f"{exc.why}; the {summary.written} runs written "
                             "before are kept: run the same command again to finish") from None
        if stored is None:
            summary.duplicates += 1
        else:
            summary.written += 1
        bar.set_postfix_str(f"{summary.written + summary.duplicates}/{len(todo)} runs")

    try:
        if executor == "ray":
            from palbench.bench.ray_executor import run_cells_ray

            run_cells_ray(todo, plan.data, workers, on_result, lambda: bar.update(),
                          address, verbose, batch_cells)
        else:
            run_cells(todo, plan.data, workers, on_result, on_checkpoint=lambda: bar.update(),
                      batch_cells=batch_cells)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
    return summary


def run_missing_cells(config: str | Path, store: ResultsStore, workers: int = 1) -> None:
    """Run the cells of a claim's config that `store` lacks (complete cells are skipped),
    saying first how many and about how long, with `palbench run`'s progress bar; the runner
    `palbench check` hands reports.claims.check_claims."""
    plan = load_plan(config)
    todo = cells_to_run(plan, store)
    if not todo:
        return
    print(f"palbench check: {len(todo)} of the {len(plan.cells)} cells of {config} are not in "
          f"the store; running them now on {workers} worker(s) ("
          f"{time_estimate(todo, store, workers)}). --no-run never runs cells.",
          file=sys.stderr)
    if run_plan(plan, store, workers=workers, say_skipped=False).interrupted:
        raise KeyboardInterrupt

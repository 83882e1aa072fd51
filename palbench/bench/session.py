"""Run a plan into a store: the one path from a validated grid to stored runs, shared by the
command line, the demo, claims (missing cells) and the benchmarks.

Cells already complete in the store are skipped; workers compute, this process alone writes;
a cell that another process finished first (two overlapping runs of one grid) is dropped and
counted, never stored twice.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from palbench.bench.config import Plan, load_plan
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


def run_plan(plan: Plan, store: ResultsStore, *, workers: int = 1, force: bool = False,
             tag: str | None = None, executor: str = "local", address: str | None = None,
             progress: bool = True, verbose: bool = False,
             batch_cells: int | None = None) -> RunSummary:
    """Run every cell of `plan` that `store` lacks (all of them with `force`); a Ctrl-C stops
    the run and returns what was written so far (interrupted=True). `verbose`: Ray's own
    log lines too. `batch_cells`: cells a lockstep group holds (their fits trained as one
    batch); None chooses it from the learner, the cores and the memory."""
    from tqdm import tqdm

    from palbench.bench.executors import batch_size_for, run_cells, run_cells_ray

    done = set() if force else store.complete_hashes(tag)
    todo = [c for c in plan.cells if c.spec_hash() not in done]
    batch_cells = batch_size_for(todo, plan.data, workers, batch_cells)
    summary = RunSummary(planned=len(plan.cells), skipped=len(plan.cells) - len(todo))
    if summary.skipped:
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


def run_config(path: str | Path, store: ResultsStore, **options) -> RunSummary:
    """Load a TOML config and run its missing cells into `store` (options as run_plan's)."""
    return run_plan(load_plan(path), store, **options)

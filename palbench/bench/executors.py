"""Where cells run on this machine: in this process (workers=1) or a local process pool (the
Ray executor is ray_executor.py). A task is a group of cells that advance in lockstep
(`loop.run_lockstep`: their fits trained as one batch); groups of one by default, `batch_cells`
cells of one dataset, learner and checkpoint schedule with --batch-cells N (groups.py).

Workers only compute; results come back to the caller, which alone writes the store.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from palbench.bench import loop
from palbench.bench.grid import Cell
from palbench.bench.groups import cell_groups
from palbench.bench.loop import CellResult
from palbench.bench.worker_imports import check_workers_can_start
from palbench.datasets import Dataset
from palbench.errors import WorkerDied
from palbench.imports import ROOTS, add_roots

_WORKER_DATASETS: dict[str, Dataset] = {}
PARENT_POLL_SECONDS = 0.25
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def end_with_parent(parent: int) -> None:
    """A worker's initializer: the worker ends when the process that started it dies, however
    it dies (SIGKILL included), so that no worker outlives its run or holds the caller's
    pipes open. Linux signals the worker at once (PR_SET_PDEATHSIG); everywhere, a daemon
    thread checks every quarter second that the worker's parent is still `parent`."""
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the thread below still watches
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="palbench-parent-watch", daemon=True).start()


def start_worker(parent: int, roots: list[str]) -> None:
    """A pool worker's initializer, run before it reads any cell: it ends with its parent
    (`end_with_parent`) and finds the config's own modules where its parent does (the
    parent's palbench.imports ROOTS, after the installed packages)."""
    add_roots(*roots)
    end_with_parent(parent)


def run_group(cells: list[Cell], data: Dataset) -> list[CellResult]:
    """A group of cells on one dataset, in lockstep."""
    return loop.run_lockstep([(cell, data) for cell in cells])


def hand_back(results: list[CellResult], on_result: Callable[[CellResult], None],
              on_checkpoint: Callable[[], None] | None) -> None:
    """A finished group's results, in this process: its checkpoints counted (the progress
    bar), then each result to on_result (which writes the store)."""
    for result in results:
        if on_checkpoint:
            for _ in result.checkpoints:
                on_checkpoint()
        on_result(result)


def _run_in_worker(cells: list[Cell]) -> list[CellResult]:
    """Rebuild the dataset once per worker process (cheaper than sending the arrays)."""
    cell = cells[0]
    key = cell.dataset_fingerprint
    if key not in _WORKER_DATASETS:
        _WORKER_DATASETS.clear()
        _WORKER_DATASETS[key] = cell.dataset.obj.prepare(cell.dataset.label, "dataset")
    data = _WORKER_DATASETS[key]
    if data.fingerprint != cell.dataset_fingerprint:
        raise RuntimeError(f"dataset {cell.dataset.label!r} changed on disk during the run")
    return run_group(cells, data)



def run_cells(cells: Iterable[Cell], datasets: Callable[[Cell], Dataset], workers: int,
              on_result: Callable[[CellResult], None],
              on_checkpoint: Callable[[], None] | None = None, batch_cells: int = 1) -> None:
    """Run every cell (`datasets(cell)` gives its data), in lockstep groups of at most
    `batch_cells`; call on_result in this process as each finishes (in completion order; a
    group's cells when the group does)."""
    groups = cell_groups(list(cells), batch_cells)
    if workers <= 1:
        for group in groups:
            hook = (lambda _i, _c: on_checkpoint()) if on_checkpoint else None
            for result in loop.run_lockstep([(cell, datasets(cell)) for cell in group], hook):
                on_result(result)
        return
    check_workers_can_start([cell for group in groups for cell in group])
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker,
                             initargs=(os.getpid(), list(ROOTS))) as pool:
        pending = {pool.submit(_run_in_worker, group) for group in groups}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        raise WorkerDied("a worker process ended without a result (killed, "
                                         "out of memory, or it failed to start: any error "
                                         "it printed is above); finished runs are stored: "
                                         "run again to resume") from None
                    hand_back(results, on_result, on_checkpoint)
        except BaseException:
            for future in pending:
                future.cancel()
            raise

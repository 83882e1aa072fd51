"""Where cells run: in this process (workers=1) or in a local process pool (one cell a task).

Workers only compute; results come back to the caller, which alone writes the store.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from palbench.bench.config import Cell
from palbench.bench.data import Dataset
from palbench.bench.loop import CellResult, run_cell

_WORKER_DATASETS: dict[str, Dataset] = {}


def _run_in_worker(cell: Cell) -> CellResult:
    """Rebuild the dataset once per worker process (cheaper than sending the arrays)."""
    key = cell.dataset_fingerprint
    if key not in _WORKER_DATASETS:
        _WORKER_DATASETS.clear()
        _WORKER_DATASETS[key] = cell.dataset.obj.prepare(cell.dataset.label, "dataset")
    data = _WORKER_DATASETS[key]
    if data.fingerprint != cell.dataset_fingerprint:
        raise RuntimeError(f"dataset {cell.dataset.label!r} changed on disk during the run")
    return run_cell(cell, data)


def run_cells(cells: Iterable[Cell], datasets: dict[str, Dataset], workers: int,
              on_result: Callable[[CellResult], None],
              on_checkpoint: Callable[[], None] | None = None) -> None:
    """Run every cell; call on_result in this process as each finishes (in completion order)."""
    cells = list(cells)
    if workers <= 1:
        for cell in cells:
            hook = (lambda _c: on_checkpoint()) if on_checkpoint else None
            on_result(run_cell(cell, datasets[cell.dataset.label], hook))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(_run_in_worker, cell) for cell in cells}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()
                    if on_checkpoint:
                        for _ in result.checkpoints:
                            on_checkpoint()
                    on_result(result)
        except BaseException:
            for future in pending:
                future.cancel()
            raise

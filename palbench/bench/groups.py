"""Which cells run together and how many: a lockstep group is cells of one dataset, learner and
checkpoint schedule (`loop.run_lockstep` trains their fits as one batch), and its size is what
the learner batches and the memory holds. Read by both executors (executors.py, ray_executor.py)
and by the session, which refuses a --batch-cells the memory cannot hold before it opens the
store."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from palbench.bench.grid import Cell
from palbench.datasets import Dataset
from palbench.errors import ConfigError


def group_key(cell: Cell) -> str:
    """What cells of one lockstep group share: the dataset, the learners (task and selection)
    and the checkpoint schedule, so that their fits line up and batch."""
    spec = cell.spec()
    return json.dumps([cell.dataset_fingerprint, spec["learner"],
                       spec.get("selection_learner"), list(cell.experiment.budgets),
                       cell.experiment.batch_size], sort_keys=True)


def cell_groups(cells: list[Cell], batch_cells: int) -> list[list[Cell]]:
    """The cells in groups of at most `batch_cells` with one group_key, in plan order (a
    resumed run groups the cells it still has to run)."""
    by_key: dict[str, list[Cell]] = {}
    for cell in cells:
        by_key.setdefault(group_key(cell), []).append(cell)
    return [same[start:start + batch_cells] for same in by_key.values()
            for start in range(0, len(same), batch_cells)]


MAX_BATCH_CELLS = 32  # automatic groups: the speed-up has flattened by then (bench batching)
MEMORY_SHARE = 0.5  # of the memory available now, what a worker's batch may take


def available_memory() -> int:
    """Bytes of memory available now (Linux: MemAvailable; elsewhere the free pages)."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def batch_size_for(cells: list[Cell], datasets: Callable[[Cell], Dataset], workers: int,
                   requested: int | None) -> int:
    """How many cells a lockstep group holds: `requested` (--batch-cells) when its fits fit
    in memory (else one line before any work); automatically, 1 unless a learner batches its
    fits, else the cells sharing a group key spread evenly over whole rounds of the workers,
    at most MAX_BATCH_CELLS and what memory allows."""
    if requested is not None and (not isinstance(requested, int) or requested < 1):
        raise ConfigError("--batch-cells", requested, "must be an integer >= 1")
    if not cells:
        return requested or 1
    need = max(cell.learner.obj.batch_member_bytes(datasets(cell)) for cell in cells)
    budget = MEMORY_SHARE * available_memory() / max(workers, 1)
    fits = int(budget // need) if need else MAX_BATCH_CELLS * 1000
    if requested is not None:
        if requested > max(fits, 1):
            raise ConfigError("--batch-cells", requested, f"a group's fits would need "
                              f"{requested * need / 2**30:.1f} GiB, more than the "
                              f"{budget / 2**30:.1f} GiB a worker may take here; at most "
                              f"{max(fits, 1)}")
        return requested
    if not any(cell.learner.obj.batches_fits(datasets(cell)) for cell in cells):
        return 1
    largest = max(len(group) for group in cell_groups(cells, len(cells)))
    workers = max(workers, 1)
    # as many groups as a whole number of rounds of the workers needs, none above the cap:
    # 130 cells on 2 workers make 6 groups of at most 22, never 4 of 32 and a last one alone
    rounds = -(-largest // (workers * MAX_BATCH_CELLS))
    return max(1, min(-(-largest // (workers * rounds)), fits))

"""How many threads a cell's numerical libraries may use while it runs."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def limited_threads(n: int):
    """Pin torch and BLAS to n threads for the block, and restore torch's count after. torch
    is pinned only when a learner has imported it (the registry imports a learner's module
    when a config names it, and a worker when it unpickles the cell): a scikit-learn-only run
    never imports torch."""
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        if torch:
            torch.set_num_threads(previous)


def single_threaded():
    """One thread: N workers on N cores must not oversubscribe, and one thread makes CPU
    results independent of the executor."""
    return limited_threads(1)

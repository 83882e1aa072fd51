"""Read-only views of a run's live state, for what the loop hands to strategies: they see every
update the run makes, and cannot make one (a strategy that marked a sample queried or added a
pair to the asked set would change its own run's results)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Set

import numpy as np


def read_only(array: np.ndarray) -> np.ndarray:
    """A view of `array` that follows its changes and refuses writes."""
    view = array.view()
    view.flags.writeable = False
    return view


class SetView(Set):
    """A live set, for reading only."""

    def __init__(self, items: set):
        self._items = items

    def __contains__(self, item) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class SequenceView(Sequence):
    """A live list, for reading only (its rows are tuples, immutable themselves)."""

    def __init__(self, items: list):
        self._items = items

    def __getitem__(self, index):
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

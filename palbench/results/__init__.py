"""The versioned results store (SQLite) and its exports."""

from palbench.results.store import ResultsStore, StoreError

__all__ = ["ResultsStore", "StoreError"]

"""The versioned results store (SQLite), its schema and its exports.

`ResultsStore` and `StoreError` are loaded on first use: the command line imports only the
schema, so that starting it does not import pandas.
"""

__all__ = ["ResultsStore", "StoreError"]


def __getattr__(name: str):
    if name in __all__:
        from palbench.results import store

        return getattr(store, name)
    raise AttributeError(f"module 'palbench.results' has no attribute {name!r}")

"""The versioned results store (SQLite): its schema, its migrations, opening the file, its
queries and its exports.

`ResultsStore` is loaded on first use: the command line imports only the schema, so that
starting it does not import pandas. Its failures are `palbench.errors.StoreError`.
"""

__all__ = ["ResultsStore"]


def __getattr__(name: str):
    if name in __all__:
        from palbench.results import store

        return getattr(store, name)
    raise AttributeError(f"module 'palbench.results' has no attribute {name!r}")

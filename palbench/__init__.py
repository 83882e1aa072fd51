"""palbench: simulation and benchmark harness for active-learning strategies.

The public API: `run` (a config, a dict or a plan into a results store, returning `Results`),
`report` (a store's report, as `palbench report` writes it),
the base class of each component kind (`Strategy`, `Oracle`, `Learner`, `DatasetSource`), the
records strategies see (`QueryContext`, `LabelQueries`, `PairQueries`, `PriceList`), and
`palbench.testing` for checking a component against its contract. Names load on first use, so
that `palbench --help` starts without importing scikit-learn.
"""

__version__ = "0.3.0"

_PUBLIC = {
    "run": "palbench.api", "Results": "palbench.api", "report": "palbench.api",
    "Strategy": "palbench.strategies.base", "QueryContext": "palbench.strategies.base",
    "Oracle": "palbench.oracles.base", "Learner": "palbench.learners.base",
    "Model": "palbench.learners.base", "DatasetSource": "palbench.datasets.base",
    "Dataset": "palbench.datasets.base", "LabelQueries": "palbench.queries",
    "PairQueries": "palbench.queries", "PriceList": "palbench.queries",
    "PalbenchError": "palbench.errors", "ConfigError": "palbench.errors",
    "StoreError": "palbench.errors", "TrainingDiverged": "palbench.errors",
    "ComponentError": "palbench.errors", "ContractError": "palbench.errors",
    "WorkerDied": "palbench.errors",
    "ResultsStore": "palbench.results.store", "StoppingCriterion": "palbench.stopping.base",
    "LabelLearner": "palbench.learners.base", "SplitSource": "palbench.datasets.base",
}
__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'palbench' has no attribute {name!r}")


def __dir__():
    return __all__

"""Query strategies: given what is known so far, choose which samples to ask the oracle about."""

from palbench.strategies import graph_coverage, random_sampling, uncertainty  # noqa: F401
from palbench.strategies.base import STRATEGIES, QueryContext, Strategy

__all__ = ["STRATEGIES", "QueryContext", "Strategy"]

"""Query strategies: given what is known so far, choose which samples to ask the oracle about."""

from palbench.strategies import (  # noqa: F401  (registers the strategies)
    badge,
    bald,
    coreset,
    graph_coverage,
    pairs,
    random_sampling,
    routed,
    skactiveml_adapter,
    typiclust,
    uncertainty,
)
from palbench.strategies.base import STRATEGIES, QueryContext, Strategy

__all__ = ["STRATEGIES", "QueryContext", "Strategy"]

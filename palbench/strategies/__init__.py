"""Query strategies: given what is known so far, choose which samples to ask the oracle about.

Each built-in is named here and imported on first use (`Registry.lazy`); third-party
strategies come by entry point (group ``palbench.strategies``) or by import path.
"""

from palbench.strategies.base import STRATEGIES, QueryContext, Strategy

STRATEGIES.lazy(__name__, {
    "random_sampling": ("random",),
    "uncertainty": ("least_confident", "margin", "entropy"),
    "graph_coverage": ("graph_coverage",),
    "coreset": ("coreset",),
    "typiclust": ("typiclust",),
    "badge": ("badge",),
    "bald": ("bald", "batch_bald"),
    "epig": ("epig",),
    "pairs": ("random_pairs", "pal_active", "pal_ordered", "pal_coverage", "pal_group"),
    "routed": ("routed",),
    "skactiveml_adapter": ("skactiveml",),
    "greedy_oracle": ("greedy_oracle",),
})

__all__ = ["STRATEGIES", "QueryContext", "Strategy"]

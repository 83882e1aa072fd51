"""Query strategies: given what is known so far, choose which samples to ask the oracle about.

Each built-in is named here and imported on first use (`Registry.lazy`); third-party
strategies come by entry point (group ``palbench.strategies``) or by import path.
"""

from palbench.strategies.base import STRATEGIES, QueryContext, Strategy

for _module, _names in {
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
}.items():
    for _name in _names:
        STRATEGIES.lazy(_name, f"palbench.strategies.{_module}")

__all__ = ["STRATEGIES", "QueryContext", "Strategy"]

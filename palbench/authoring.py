"""What a strategy's or an oracle's author imports: the helpers every built-in strategy uses
and the read-only records a component is handed. One import line, public and documented:

    from palbench.authoring import cold_start, margin_scores, predict_rows, top_k

The names are defined where the built-ins use them and gathered here, so that a plugin needs
no module path below `palbench` that could move.
"""

from __future__ import annotations

import numpy as np

from palbench.errors import check
from palbench.graph_readers import GraphReader, GraphView
from palbench.oracles.base import Truth
from palbench.queries import (
    ABSTAIN,
    AnnotatorHistory,
    AnswerRow,
    Answers,
    LabelQueries,
    PairQueries,
    PriceList,
)
from palbench.strategies.base import QueryContext, TruthView, predict_rows, random_choice, top_k
from palbench.strategies.uncertainty import entropy_scores, least_confident_scores, margin_scores

__all__ = ["ABSTAIN", "AnnotatorHistory", "AnswerRow", "Answers", "GraphReader", "GraphView",
           "LabelQueries", "PairQueries", "PriceList", "QueryContext", "Truth", "TruthView",
           "check", "cold_start",
           "entropy_scores", "least_confident_scores", "margin_scores", "predict_rows",
           "random_choice", "top_k"]


def cold_start(ctx: QueryContext, k: int, rng: np.random.Generator) -> np.ndarray | None:
    """k random candidates while no model is fitted yet (`ctx.model` is None), else None: the
    cold start of a model-based strategy, as the built-ins do it.

        def select(self, ctx, k, rng):
            picked = cold_start(ctx, k, rng)
            if picked is not None:
                return picked
            ...
    """
    if ctx.model is not None:
        return None
    return random_choice(ctx.candidates, k, rng)

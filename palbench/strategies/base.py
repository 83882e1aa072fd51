"""What every strategy shares: the query context, the base class, the selection helpers, the
registry.

Contract (palbench.testing.check_strategy): a label strategy's `select(ctx, k, rng)` returns
min(k, #unqueried) distinct indices of samples not queried before; a pair strategy returns at
most k queries (at least one while any is possible) of distinct pairs never asked before; both
return the same again for an equal rng, and never depend on the true labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from palbench.graph_readers import GraphReader
from palbench.protocol import Component
from palbench.queries import PriceList
from palbench.registry import Registry


@dataclass(frozen=True)
class TruthView:
    """What a reference line that reads the truth by design (Strategy.reads_truth, such as
    greedy_oracle) is handed as `ctx.truth`: the pool's true labels and the test set, all
    read-only. No other strategy is ever handed it (palbench.testing checks)."""

    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass
class QueryContext:
    """What a strategy may see: the pool (X, as the models take it, and the dataset's
    `features` when it has them), what was asked and answered, the model.

    Everything here is a read-only view of the run's own state (arrays not writeable, the
    graph without the methods that add answers, sets and logs without the methods that change
    them), so that a strategy cannot change its run by accident. `model` is the learner fitted
    on the answers so far (None before the first fit); it offers `predict_proba(X)` and, for
    representation learners, `embed(X)`. `graph` answers questions about every answer so far
    (`known_labels()`, `excluded_classes(i)`, ...); `exemplars[c]` is a sample known to be of
    class c (-1: none yet). `cache` is the strategy's own: state and precomputations kept for
    the length of a run.
    """

    X: np.ndarray
    queried: np.ndarray
    n_classes: int
    model: Any = None
    model_version: int = 0  # incremented by the loop at every refit
    graph: GraphReader | None = None
    exemplars: np.ndarray | None = None
    asked_pairs: Set = frozenset()  # keys pair_key(a, b, len(X)) of every pair asked
    cache: dict = field(default_factory=dict)
    pool_embedding: Callable[[], np.ndarray] | None = None  # the learner's pool embedding
    learner: Any = None  # the run's (unfitted) learner, for adapters that train their own
    seed: int = 0  # a seed for the strategy's own randomness beyond rng (fixed per run)
    answer_log: Sequence = ()  # rows of results.schema.ANSWER_FIELDS, oldest first
    pool: tuple[int, int] | None = None  # (workers, redundancy) when the strategy routes
    truth: TruthView | None = None  # only for a reference line with reads_truth (else None)
    # the dataset's features, row for row with X (None: X is all there is; space = "features")
    features: np.ndarray | None = None
    inputs: np.ndarray | None = None  # the raw inputs when X holds the features (else None)

    @property
    def candidates(self) -> np.ndarray:
        return np.flatnonzero(~self.queried)


class Strategy(Component):
    """Base of the strategies: a frozen keyword-only dataclass of parameters with a `select` method.

    A strategy sees a QueryContext (read-only) and a PriceList, never the true labels (only a
    reference line declaring `reads_truth` is handed them, as `ctx.truth`).
    `palbench.testing.check_strategy` checks a subclass against this contract.
    """

    kind: ClassVar[str] = "strategy"
    query_kind: ClassVar[str] = "label"  # "label" or "pair": what select() asks
    needs_model: ClassVar[bool] = False  # True: the loop refits the learner before each round
    free_exemplars: ClassVar[int] = 0  # samples per class labelled for free at the start
    routes_workers: ClassVar[bool] = False  # True: select() also chooses who answers
    # True: a reference line that reads the truth by design (ctx.truth), not a strategy one
    # could deploy; reports keep it out of ranks and verdicts and label it as an oracle line
    reads_truth: ClassVar[bool] = False

    def requires(self) -> frozenset[str]:
        """Learner capabilities (palbench.learners.base.CAPABILITIES) this strategy needs;
        checked against the run's learner when the config is read."""
        return frozenset()

    def query_price(self, prices: PriceList) -> float:
        """The smallest price of one query, to size a batch to the budget left."""
        return prices.cheapest_label

    def select(self, ctx: QueryContext, k: int, rng: np.random.Generator):
        """At most k queries: label strategies return distinct indices of samples not queried
        yet (min(k, unqueried) of them); pair strategies return PairQueries of distinct pairs
        never asked. The same rng state must give the same queries."""
        raise NotImplementedError(f"{type(self).__name__} must define select(ctx, k, rng)")


STRATEGIES = Registry.for_base(Strategy)


def selection_problem(queries, queried: np.ndarray, asked_pairs, k: int) -> str | None:
    """What is wrong with a batch a strategy returned (None: nothing): the one definition of
    the selection contract, used by the loop at every round and by palbench.testing."""
    from palbench.graph import pair_key
    from palbench.queries import LabelQueries

    n = len(queried)
    if queries.n_queries > k:
        return f"returned {queries.n_queries} queries for k={k}"
    if isinstance(queries, LabelQueries):
        picked = queries.indices
        outside = picked[(picked < 0) | (picked >= n)]
        if len(outside):
            return f"returned sample {int(outside[0])}, outside the pool of {n} samples"
        values, counts = np.unique(picked, return_counts=True)
        if (counts > 1).any():
            return f"returned sample {int(values[counts > 1][0])} twice"
        again = picked[queried[picked]]
        if len(again):
            return f"returned sample {int(again[0])}, already queried"
        return None
    a, b = np.asarray(queries.a), np.asarray(queries.b)
    outside = np.concatenate([a, b])
    outside = outside[(outside < 0) | (outside >= n)]
    if len(outside):
        return f"returned sample {int(outside[0])}, outside the pool of {n} samples"
    same = np.flatnonzero(a == b)
    if len(same):
        return f"returned the pair ({int(a[same[0]])}, {int(a[same[0]])}) of a sample with itself"
    keys = pair_key(a, b, n)
    values, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        i = first[counts > 1][0]
        return f"returned the pair ({int(a[i])}, {int(b[i])}) twice"
    for i, key in enumerate(keys.tolist()):
        if key in asked_pairs:
            return f"returned the pair ({int(a[i])}, {int(b[i])}), already asked"
    return None


def top_k(scores: np.ndarray, candidates: np.ndarray, k: int,
          rng: np.random.Generator) -> np.ndarray:
    """The k candidates with the highest scores (`scores[i]` belongs to `candidates[i]`), as
    int64 global indices; ties broken at random from `rng`, so a seed gives one pick.

        picks = top_k(margin_scores(proba), ctx.candidates, k, rng)
    """
    k = min(k, len(candidates))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    scores = np.asarray(scores)
    if k == 1 and isinstance(rng.bit_generator, np.random.PCG64):
        best = np.flatnonzero(scores == scores.max())  # a NaN maximum matches nothing
        if len(best) == 1:  # no tie to break: skip drawing the tiebreaks, not the stream
            rng.bit_generator.advance(len(candidates))  # one 64-bit draw per tiebreak
            return candidates[best].astype(np.int64)
    tiebreak = rng.random(len(candidates))
    if k < len(scores) and not np.isnan(scores).any():
        # only scores at or above the k-th largest can be picked: sort those alone (the same
        # order as sorting everything; 13 ms -> 1 ms on a 60,000-sample pool)
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        top = np.flatnonzero(scores >= kth)
        order = top[np.lexsort((tiebreak[top], -scores[top]))]
    else:
        order = np.lexsort((tiebreak, -scores))
    return candidates[order[:k]].astype(np.int64)


def predict_rows(model, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """model.predict_proba(X[rows]): (len(rows), n_classes), without copying most of the
    pool: when the rows are at least half of X, predicting on X itself and keeping the rows
    is faster (60k x 784: 67 ms against 110 ms) and gives the same numbers.

        proba = predict_rows(ctx.model, ctx.X, ctx.candidates)
    """
    if 2 * len(rows) >= len(X):
        return model.predict_proba(X)[rows]
    return model.predict_proba(X[rows])


def random_choice(candidates: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """min(k, len(candidates)) distinct candidates drawn from `rng`, as int64.

        picks = random_choice(ctx.candidates, k, rng)
    """
    k = min(k, len(candidates))
    return rng.choice(candidates, size=k, replace=False).astype(np.int64)

"""What a cell asked, paid and heard, beside the graph that holds what the answers mean."""

from __future__ import annotations

import numpy as np

from palbench.datasets import Dataset
from palbench.graph import SimilarityGraph, pair_key
from palbench.graph_readers import GraphView, RawAnswers
from palbench.queries import (
    ABSTAIN,
    AnnotatorHistory,
    AnswerRow,
    Answers,
    LabelQueries,
    PairQueries,
    Tally,
)
from palbench.strategies.base import QueryContext
from palbench.views import SequenceView, SetView, read_only


class Ledger:
    """What was asked, paid and heard, beside the graph that holds what it means. `spent`:
    the seconds (cost units) charged, what budgets spend; `log`: the answer log, of which the
    annotators' `history()` is a view."""

    def __init__(self, data: Dataset, rule: str, closure: str = "transitive"):
        self.graph = SimilarityGraph(data.n_pool, data.n_classes, rule)
        # what learners are given: the whole graph, or only the answered entries
        self.learner_view = GraphView(self.graph) if closure == "transitive" else \
            RawAnswers(self.graph)
        self.queried = np.zeros(data.n_pool, dtype=bool)  # asked for a label
        self.asked_pairs: set[int] = set()
        self.n_pool = data.n_pool
        self.spent = 0.0
        self.n_queries = self.n_abstain = self.n_wrong = self.n_free = 0
        self.tally = Tally()
        self.log: list[AnswerRow] = self.tally.rows

    def add(self, answers: Answers, y: np.ndarray, free: bool = False) -> None:
        """Record a batch of answers; `free` ones (an uncharged initial set) cost nothing and
        count in n_free rather than n_queries."""
        queries = answers.queries
        self.record(answers)
        said = answers.values != ABSTAIN
        if free:
            self.n_free += len(queries)
        else:
            self.spent += answers.total_cost
            self.n_queries += queries.n_queries if isinstance(queries, PairQueries) \
                else len(queries)
        self.n_abstain += int((~said).sum())
        if isinstance(queries, LabelQueries):
            self.queried[queries.indices] = True
            truth = y[queries.indices]
            self.graph.add_labels(queries.indices[said], answers.values[said])
        else:
            self.asked_pairs.update(int(k) for k in pair_key(queries.a, queries.b, self.n_pool))
            truth = (y[queries.a] == y[queries.b]).astype(np.int64)
            self.graph.add_pairs(queries.a[said], queries.b[said], answers.values[said] == 1)
        self.n_wrong += int((answers.values[said] != truth[said]).sum())

    def record(self, answers: Answers) -> None:
        """Append the batch to the answer log: one row per answer heard."""
        queries = answers.queries
        a = queries.indices if isinstance(queries, LabelQueries) else queries.a
        b = [None] * len(a) if isinstance(queries, LabelQueries) else queries.b.tolist()
        start = len(self.log) and self.log[-1].position + 1
        workers = answers.workers if answers.workers is not None else \
            np.full((len(a), 1), -1)
        heard = answers.heard if answers.heard is not None else answers.values[:, None]
        charged = np.asarray(answers.charged, dtype=np.float64)
        charged = np.broadcast_to(charged if charged.ndim == 2 else charged[:, None],
                                  workers.shape)
        listed = np.asarray(answers.prices, dtype=np.float64).tolist()
        for q, (x, z, verdict) in enumerate(zip(a.tolist(), b, answers.values.tolist())):
            for worker, value, cost in zip(workers[q].tolist(), heard[q].tolist(),
                                           charged[q].tolist()):
                self.tally.add(AnswerRow(start + q, queries.kind, x, z,
                                         None if worker < 0 else worker, value, verdict,
                                         listed[q], cost))

    def history(self) -> AnnotatorHistory:
        """What the run's annotators have done so far, as its oracle is handed it."""
        return self.tally.history(SequenceView(self.log))

    def context(self, data: Dataset, exemplars: np.ndarray, **extra) -> QueryContext:
        """What a strategy sees of this ledger: read-only views that follow every update."""
        return QueryContext(X=read_only(data.X), queried=read_only(self.queried),
                            n_classes=data.n_classes, graph=GraphView(self.graph),
                            exemplars=read_only(exemplars), asked_pairs=SetView(self.asked_pairs),
                            answer_log=SequenceView(self.log), **extra)

    def reveal_exemplars(self, y: np.ndarray, per_class: int, n_classes: int,
                         rng: np.random.Generator) -> np.ndarray:
        """Free labelled samples per class; returns one exemplar per class (-1 if none)."""
        exemplars = np.full(n_classes, -1, np.int64)
        if per_class == 0:
            return exemplars
        chosen = []
        for c in range(n_classes):
            members = np.flatnonzero(y == c)
            picked = rng.choice(members, size=min(per_class, len(members)), replace=False)
            exemplars[c] = picked[0]
            chosen.append(picked)
        chosen = np.concatenate(chosen)
        self.graph.add_labels(chosen, y[chosen])
        self.queried[chosen] = True
        self.n_free += len(chosen)
        return exemplars

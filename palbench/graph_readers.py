"""The graph as strategies and learners read it: the `GraphReader` Protocol and its two
implementations, `GraphView` (the answers and what follows from them) and `RawAnswers` (only
what was answered). The graph that holds the answers is graph.py's `SimilarityGraph`."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from palbench.graph import GraphStats, SimilarityGraph, pair_key


class GraphReader(Protocol):
    """The graph as strategies (`ctx.graph`) and learners (`fit(data, graph, ...)`) read it:
    every question it answers, none of the methods that add answers (a strategy that could add
    an edge could change its own run's results). Samples are global pool indices; `n` is the
    pool's size, `c` the classes'. Two implementations: `GraphView` (the answers and what
    follows from them) and `RawAnswers` (only what was answered, for `closure = "none"`); a
    new query is declared here, then written in both (tests/test_graph.py holds them equal).

    Example, in a strategy's `select`:

        known = ctx.graph.known_labels()          # -1 where the class is not known yet
        excluded = ctx.graph.excluded_classes(ctx.candidates)   # (len, C) bool
        still_possible = (~excluded).sum(axis=1)  # classes each candidate may still be
    """

    n: int
    c: int

    def known_labels(self) -> np.ndarray:
        """(n,) int64: each sample's class as the answers so far give it, -1 where it is not
        known."""

    def excluded_classes(self, indices) -> np.ndarray:
        """(len(indices), c) bool: True where the answers rule class c out for that sample."""

    def component_ids(self, indices=None) -> np.ndarray:
        """(n,) or (len(indices),) int64: an id per sample, equal for samples the answers
        join as one class."""

    def relation(self, a, b) -> np.ndarray:
        """(len(a),) int64 for sample pairs (a[i], b[i]): 1 known same class, -1 known
        different, 0 unknown."""

    def signed_block(self, indices, signed: bool = True) -> np.ndarray:
        """(len(indices), len(indices)) float32 among the given samples: 1 known same class,
        -1 known different (0 when `signed` is False), 0 unknown; 1 on the diagonal."""

    def answers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, same): every answer heard, in arrival order, by node id (class c is node
        n + c: a label answer "i is class c" is (i, n + c, True)); `same` is bool."""

    def stats(self) -> GraphStats:
        """Counts: components, samples of known class, negatives, conflicts, answers."""


class GraphView:
    """A `GraphReader` of the answers and everything that follows from them (the transitive
    closure): what strategies always see, and learners with `closure = "transitive"`."""

    def __init__(self, graph: SimilarityGraph):
        self._graph = graph
        self.n, self.c = graph.n, graph.c

    def known_labels(self) -> np.ndarray:
        """A label, a chain of "same class" answers to a labelled sample, or every other
        class ruled out."""
        return self._graph.known_labels()

    def excluded_classes(self, indices) -> np.ndarray:
        """"Not the same class" as a sample of class c, or as a class's exemplar."""
        return self._graph.excluded_classes(indices)

    def component_ids(self, indices=None) -> np.ndarray:
        """Samples of one known class share their class node's id."""
        return self._graph.component_ids(indices)

    def relation(self, a, b) -> np.ndarray:
        return self._graph.relation(a, b)

    def signed_block(self, indices, signed: bool = True) -> np.ndarray:
        return self._graph.signed_block(indices, signed)

    def answers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._graph.answers()

    def stats(self) -> GraphStats:
        return self._graph.stats()


class RawAnswers:
    """A `GraphReader` of what a learner sees with `closure = "none"`: only the entries the
    annotator answered, as the PAL paper's notebooks give their passive baseline. A yes links
    two samples and no third; a label (or a free exemplar) names its own sample's class only.
    Each answered pair counts by the graph's rule (majority of its raw answers, ...);
    strategies and the run's statistics still see the whole graph."""

    def __init__(self, graph: SimilarityGraph):
        self.graph, self.n, self.c = graph, graph.n, graph.c

    def _verdicts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = self.graph
        verdict = g._verdict(g._yes, g._no, g._first_same(np.arange(len(g._keys))))
        return g._keys // g.n_nodes, g._keys % g.n_nodes, verdict

    def known_labels(self) -> np.ndarray:
        a, b, verdict = self._verdicts()
        labels = np.full(self.n, -1, np.int64)
        named = (b >= self.n) & (verdict == 1)  # sample a is class b - n (a < b always)
        labels[a[named]] = b[named] - self.n
        return labels

    def signed_block(self, indices, signed: bool = True) -> np.ndarray:
        indices = np.asarray(indices, np.int64)
        position = np.full(self.n, -1, np.int64)
        position[indices] = np.arange(len(indices))
        a, b, verdict = self._verdicts()
        inside = (b < self.n) & (verdict >= 0)
        a, b, verdict = a[inside], b[inside], verdict[inside]
        inside = (position[a] >= 0) & (position[b] >= 0)
        pa, pb, verdict = position[a[inside]], position[b[inside]], verdict[inside]
        block = np.eye(len(indices), dtype=np.float32)
        value = np.where(verdict == 1, 1.0, -1.0 if signed else 0.0).astype(np.float32)
        block[pa, pb] = block[pb, pa] = value
        return block

    def component_ids(self, indices=None) -> np.ndarray:
        """Samples joined by an answered yes (for minibatch sampling); no class-node links."""
        a, b, verdict = self._verdicts()
        yes = (b < self.n) & (verdict == 1)
        adjacency = coo_matrix((np.ones(int(yes.sum())), (a[yes], b[yes])), shape=(self.n, self.n))
        _, ids = connected_components(adjacency, directed=False)
        return ids if indices is None else ids[np.asarray(indices, np.int64)]

    def excluded_classes(self, indices) -> np.ndarray:
        """A sample's answered label rules every other class out, and so does an answered
        "not class c"; a "not the same class" as an exemplar names no class (that takes a
        chain)."""
        indices = np.asarray(indices, np.int64)
        excluded = np.zeros((self.n, self.c), bool)
        labels = self.known_labels()
        excluded[labels >= 0] = True
        excluded[np.flatnonzero(labels >= 0), labels[labels >= 0]] = False
        a, b, verdict = self._verdicts()
        told = (b >= self.n) & (verdict == 0)
        excluded[a[told], b[told] - self.n] = True
        return excluded[indices]

    def relation(self, a, b) -> np.ndarray:
        """The answered pair's verdict (a sample and itself: 1)."""
        g = self.graph
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        keys = pair_key(a, b, g.n_nodes)
        where = np.minimum(np.searchsorted(g._keys, keys), max(len(g._keys) - 1, 0))
        _, _, verdict = self._verdicts()
        found = g._keys[where] == keys if len(g._keys) else np.zeros(len(keys), bool)
        answered = np.where(found, verdict[where] if len(g._keys) else -1, -1)
        return np.where(a == b, 1, np.where(answered == 1, 1, np.where(answered == 0, -1, 0)))

    def answers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same answers the graph heard."""
        return self.graph.answers()

    def stats(self) -> GraphStats:
        """Components joined by answered yes, samples with an answered label, the pairs
        answered "different" (and the class nodes' pairs, as the graph counts them), the raw
        answers their pair's verdict does not follow, every answer."""
        g = self.graph
        _, _, verdict = self._verdicts()
        return GraphStats(
            n_components=len(np.unique(self.component_ids())),
            n_known_class=int((self.known_labels() >= 0).sum()),
            n_negatives=int((verdict == 0).sum()) + self.c * (self.c - 1) // 2,
            n_conflicts=int(np.where(verdict == 1, g._no,
                                     np.where(verdict == 0, g._yes, g._yes + g._no)).sum()),
            n_answers=g._n_answers,
        )

"""SimilarityGraph: every answer is an edge.

Nodes are the N pool samples plus one node per class. A label answer "i is class c" is a yes-edge
between i and class node c; a pair answer "i ~ j" is a yes-edge, "i !~ j" a no-edge. "Same class"
is an equivalence, so yes-edges are kept as a union-find forest (components), and a no-edge is a
known negative between two components, which holds for all of their members. Class nodes start
as mutual negatives, so "i is class 1" and "j is class 2" also make i and j a known negative.

No N x N matrix is ever built: a minibatch's signed block G_B (+1 same component, -1 known
negative, 0 unknown) comes from component ids. Memory is O(N + answers).

Conflicts (noisy answers contradicting each other) are detected and resolved by a documented rule:

1. Answers about the same pair are aggregated per pair by `rule`:
   "majority" (default): the majority of that pair's raw answers, a tie gives no verdict;
   "first": the pair's first answer; "drop": a pair whose answers disagree gives no verdict.
2. Verdicts about different pairs that contradict each other through transitivity (a yes inside
   a known negative, a no inside a component) are resolved in time order: the structure already
   in the graph wins and the newer verdict is rejected.

Every sample belongs to one of the C classes, so a component ruled out of all classes but one is
linked to the remaining class node (a deduction, not an answer).

`n_conflicts` counts the raw answers the graph does not follow (overruled, or part of a tie).
The graph is a deterministic function of the answer log: when a repeated pair changes its
verdict, the structure is rebuilt from the log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

CONFLICT_RULES = ("majority", "first", "drop")
CLOSURES = ("transitive", "none")


def pair_key(a, b, n: int) -> np.ndarray:
    """One int64 key per unordered pair of nodes (a, b) among n: min * n + max."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    return np.minimum(a, b) * n + np.maximum(a, b)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for int64 keys by sorting (faster here than NumPy's hash-based unique)."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    return values[np.concatenate([[True], values[1:] != values[:-1]])]


@dataclass(frozen=True)
class GraphStats:
    """What the answers revealed so far."""

    n_components: int  # components among the sample nodes (singletons included)
    n_known_class: int  # samples linked to a class node
    n_negatives: int  # known-negative component pairs (class-node pairs included)
    n_conflicts: int  # raw answers the graph does not follow (overruled or tied)
    n_answers: int


def _frozen(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class SimilarityGraph:
    def __init__(self, n_samples: int, n_classes: int, rule: str = "majority"):
        if rule not in CONFLICT_RULES:
            raise ValueError(f"rule must be one of {CONFLICT_RULES}, not {rule!r}")
        self.n, self.c, self.rule = int(n_samples), int(n_classes), rule
        self.n_nodes = self.n + self.c
        # raw answer log, in arrival order
        self._log_a: list[np.ndarray] = []
        self._log_b: list[np.ndarray] = []
        self._log_same: list[np.ndarray] = []
        # per unordered pair: key, first-seen order, yes / no counts (sorted by key)
        self._keys = np.empty(0, np.int64)
        self._order = np.empty(0, np.int64)
        self._yes = np.empty(0, np.int64)
        self._no = np.empty(0, np.int64)
        self._n_answers = 0
        self._touched = np.zeros(self.n_nodes, bool)  # nodes named by any answer so far
        self._conflicts: int | None = 0  # n_conflicts, until an answer may change it
        self._reset_structure()

    # ----------------------------------------------------------------- structure
    def _reset_structure(self) -> None:
        self.parent = np.arange(self.n_nodes, dtype=np.int64)
        cls = np.arange(self.n, self.n_nodes, dtype=np.int64)
        a, b = np.triu_indices(self.c, k=1)
        self._neg_a, self._neg_b = cls[a], cls[b]
        self._neg_keys = np.sort(self.pair_key(self._neg_a, self._neg_b))

    def pair_key(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return pair_key(a, b, self.n_nodes)

    def roots(self, nodes: np.ndarray) -> np.ndarray:
        """Component id (root node) of each node; compresses every path when chains grow."""
        r = self.parent[nodes]
        for step in range(64):
            up = self.parent[r]
            if np.array_equal(up, r):
                if step > 3:
                    self._compress()
                return r
            r = up
        self._compress()
        return self.parent[nodes]

    def _compress(self) -> None:
        p = self.parent
        while True:
            up = p[p]
            if np.array_equal(up, p):
                break
            p = up
        self.parent = p

    def _try_apply(self, a, b, same) -> bool:
        """Apply a chunk of verdicts at once if, taken together, they contradict nothing."""
        ra, rb = self.roots(a), self.roots(b)
        if (same & (ra != rb)).any():
            u, inverse = np.unique(np.concatenate([ra[same], rb[same]]), return_inverse=True)
            m = int(same.sum())
            la, lb = inverse[:m], inverse[m:]
            graph = coo_matrix((np.ones(m, np.int8), (la, lb)), shape=(len(u), len(u)))
            _, label = connected_components(graph, directed=False)
            new_root = np.full(label.max() + 1, np.iinfo(np.int64).max)
            np.minimum.at(new_root, label, u)
            proposal = new_root[label]  # for each root in u, its root after the merge
        else:
            u = proposal = np.empty(0, np.int64)

        if len(u):
            remap = np.arange(self.n_nodes, dtype=np.int64)
            remap[u] = proposal

            def after(roots):
                return remap[roots]
        else:
            def after(roots):
                return roots

        no = ~same
        if (after(ra[no]) == after(rb[no])).any():
            return False
        if len(u):
            na, nb = self.roots(self._neg_a), self.roots(self._neg_b)
            if (after(na) == after(nb)).any():
                return False
            self.parent[u] = proposal
        if no.any():
            self._neg_a = np.concatenate([self._neg_a, a[no]])
            self._neg_b = np.concatenate([self._neg_b, b[no]])
        return True

    def _apply(self, a, b, same) -> int:
        """Apply verdicts in order, earlier structure winning; return how many were rejected.

        Bisection keeps it fast: a chunk that contradicts nothing is applied whole, which gives
        the same graph as applying its verdicts one by one.
        """
        if len(a) == 0:
            return 0
        if self._try_apply(a, b, same):
            return 0
        if len(a) == 1:
            return 1
        half = len(a) // 2
        return self._apply(a[:half], b[:half], same[:half]) + \
            self._apply(a[half:], b[half:], same[half:])

    def _canonical_negatives(self) -> None:
        ra, rb = self.roots(self._neg_a), self.roots(self._neg_b)
        keys = sorted_unique(self.pair_key(ra, rb))
        self._neg_a, self._neg_b = keys // self.n_nodes, keys % self.n_nodes
        self._neg_keys = keys

    # ----------------------------------------------------------------- answers
    def add_pairs(self, a, b, same) -> int:
        """Record pair answers (node ids; class c is node n_samples + c).

        Returns how many of these answers the graph does not follow (conflicts)."""
        a = np.asarray(a, np.int64).ravel()
        b = np.asarray(b, np.int64).ravel()
        same = np.asarray(same, bool).ravel()
        if not (len(a) == len(b) == len(same)):
            raise ValueError("a, b and same must have one entry per answer")
        if len(a) == 0:
            return 0
        if a.min() < 0 or b.min() < 0 or max(a.max(), b.max()) >= self.n_nodes:
            raise ValueError(f"node ids must lie in [0, {self.n_nodes})")
        if (a == b).any():
            raise ValueError("a pair answer needs two different nodes")
        # the common case of a label strategy: yes-answers linking samples no answer named
        # before to class nodes (singletons: nothing to contradict, nothing to deduce)
        first_labels = bool(same.all() and (a < self.n).all() and (b >= self.n).all() and
                            not self._touched[a].any() and len(np.unique(a)) == len(a))
        self._touched[a] = self._touched[b] = True
        if not first_labels:  # linking singletons changes no earlier answer's relation
            self._conflicts = None
        self._log_a.append(a)
        self._log_b.append(b)
        self._log_same.append(same)
        first_order = self._n_answers + np.arange(len(a))
        self._n_answers += len(a)

        keys = self.pair_key(a, b)
        ukeys, first_idx, inverse = np.unique(keys, return_index=True, return_inverse=True)
        yes = np.bincount(inverse, weights=same, minlength=len(ukeys)).astype(np.int64)
        no = np.bincount(inverse, minlength=len(ukeys)) - yes
        pos = np.searchsorted(self._keys, ukeys)
        seen = (pos < len(self._keys)) & (self._keys[pos.clip(max=len(self._keys) - 1)] == ukeys) \
            if len(self._keys) else np.zeros(len(ukeys), bool)

        rebuild = False
        if seen.any():
            p = pos[seen]
            before = self._verdict(self._yes[p], self._no[p], self._first_same(p))
            self._yes[p] += yes[seen]
            self._no[p] += no[seen]
            after = self._verdict(self._yes[p], self._no[p], self._first_same(p))
            rebuild = bool((before != after).any())
        fresh = ~seen
        if fresh.any():
            at = pos[fresh]  # ukeys is sorted, so these insertion points are too
            self._keys = np.insert(self._keys, at, ukeys[fresh])
            self._order = np.insert(self._order, at, first_order[first_idx[fresh]])
            self._yes = np.insert(self._yes, at, yes[fresh])
            self._no = np.insert(self._no, at, no[fresh])

        if first_labels:
            self._link_singletons(a, b)
            self._canonical_negatives()
            return 0
        if rebuild:
            self._rebuild()
        else:
            # fresh pairs, in order of first appearance (in-batch duplicates aggregated)
            first = first_idx[fresh]
            verdict = self._verdict(yes[fresh], no[fresh], same[first])
            keep = verdict >= 0
            order = np.argsort(first[keep], kind="stable")
            idx = first[keep][order]
            self._apply(a[idx], b[idx], verdict[keep][order].astype(bool))
        self._deduce()
        return int(self._overruled(a, b, same).sum())

    def _link_singletons(self, samples, class_nodes) -> None:
        """Merge singleton samples into their classes' components, each merged component
        rooted at its smallest node as _try_apply roots it (the same forest, 4x faster at
        one label a round)."""
        class_roots = self.roots(class_nodes)
        for root in np.unique(class_roots):
            members = samples[class_roots == root]
            new_root = min(int(root), int(members.min()))
            self.parent[members] = new_root
            self.parent[root] = new_root

    def _deduce(self) -> None:
        """Closed world: a component ruled out of every class but one belongs to that one.
        The deduction becomes an edge to that class node (it is not a raw answer). Reads the
        canonical negatives, so it costs O(negatives to class nodes), not O(N)."""
        if self.c < 2:
            return
        self._canonical_negatives()
        class_roots = self.class_roots()
        is_class = np.zeros(self.n_nodes, bool)
        is_class[class_roots] = True
        a, b = self._neg_a, self._neg_b
        to_class = is_class[a] ^ is_class[b]  # one side a class, the other a component
        if not to_class.any():
            return
        other = np.where(is_class[a[to_class]], b[to_class], a[to_class])
        roots, counts = np.unique(other, return_counts=True)
        eliminated = roots[counts == self.c - 1]
        if len(eliminated) == 0:
            return
        excluded = self.excluded_classes_of_roots(eliminated, class_roots)
        remaining = np.argmin(excluded, axis=1)
        self._apply(eliminated, self.n + remaining, np.ones(len(eliminated), bool))
        self._canonical_negatives()

    def add_labels(self, indices, labels) -> int:
        """Record label answers "sample i is class labels[i]"."""
        indices = np.asarray(indices, np.int64)
        labels = np.asarray(labels, np.int64)
        if len(labels) and (labels.min() < 0 or labels.max() >= self.c):
            raise ValueError(f"labels must lie in [0, {self.c})")
        return self.add_pairs(indices, self.n + labels, np.ones(len(indices), bool))

    def _first_same(self, positions) -> np.ndarray:
        """The first raw answer of each stored pair (for the "first" rule)."""
        if self.rule != "first":
            return np.zeros(len(positions), bool)
        order = self._order[positions]
        same = np.concatenate(self._log_same)
        return same[order]

    def _verdict(self, yes, no, first_same) -> np.ndarray:
        """1 = same class, 0 = different, -1 = no verdict."""
        if self.rule == "majority":
            return np.where(yes > no, 1, np.where(no > yes, 0, -1))
        if self.rule == "first":
            return first_same.astype(np.int64)
        return np.where(no == 0, 1, np.where(yes == 0, 0, -1))  # drop

    def _rebuild(self) -> None:
        """Replay every pair's verdict in first-seen order on a fresh structure."""
        self._reset_structure()
        verdict = self._verdict(self._yes, self._no, self._first_same(np.arange(len(self._keys))))
        keep = np.flatnonzero(verdict >= 0)
        keep = keep[np.argsort(self._order[keep], kind="stable")]
        keys = self._keys[keep]
        self._apply(keys // self.n_nodes, keys % self.n_nodes, verdict[keep].astype(bool))

    # ----------------------------------------------------------------- queries
    def component_ids(self, indices=None) -> np.ndarray:
        nodes = np.arange(self.n) if indices is None else np.asarray(indices, np.int64)
        return self.roots(nodes)

    def class_roots(self) -> np.ndarray:
        return self.roots(np.arange(self.n, self.n_nodes))

    def known_labels(self) -> np.ndarray:
        """Class of each sample as the graph knows it (linked to a class node), -1 if unknown.
        A sample ruled out of every class but one is linked to the last one (see _deduce)."""
        lookup = np.full(self.n_nodes, -1, np.int64)
        lookup[self.class_roots()] = np.arange(self.c)
        return lookup[self.roots(np.arange(self.n))]

    def is_negative(self, ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
        """Whether component pairs (roots) are known negatives."""
        keys = self.pair_key(ra, rb)
        pos = np.searchsorted(self._neg_keys, keys).clip(max=max(len(self._neg_keys) - 1, 0))
        return (self._neg_keys[pos] == keys) if len(self._neg_keys) else np.zeros(len(keys), bool)

    def excluded_classes(self, indices) -> np.ndarray:
        """(len(indices), C) bool: class c is ruled out for sample i."""
        r = self.roots(np.asarray(indices, np.int64))
        return self.excluded_classes_of_roots(r, self.class_roots())

    def excluded_classes_of_roots(self, roots, class_roots) -> np.ndarray:
        ra = np.repeat(roots, self.c)
        rb = np.tile(class_roots, len(roots))
        return self.is_negative(ra, rb).reshape(len(roots), self.c)

    def signed_block(self, indices, signed: bool = True) -> np.ndarray:
        """G_B for a minibatch: +1 same component, -1 known negative (if signed), 0 unknown."""
        r = self.roots(np.asarray(indices, np.int64))
        block = (r[:, None] == r[None, :]).astype(np.float32)
        if signed and len(self._neg_a):
            # only the known negatives between components present in the batch
            u, inverse = np.unique(r, return_inverse=True)
            inside = np.isin(self._neg_a, u) & np.isin(self._neg_b, u)
            if inside.any():
                ia = np.searchsorted(u, self._neg_a[inside])
                ib = np.searchsorted(u, self._neg_b[inside])
                small = np.zeros((len(u), len(u)), np.float32)
                small[ia, ib] = small[ib, ia] = -1.0
                block += small[inverse][:, inverse]
        return block

    def relation(self, a, b) -> np.ndarray:
        """1 = known same class, -1 = known different, 0 = unknown, per node pair."""
        ra, rb = self.roots(np.asarray(a, np.int64)), self.roots(np.asarray(b, np.int64))
        return np.where(ra == rb, 1, np.where(self.is_negative(ra, rb), -1, 0))

    def answers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The raw answer log (a, b, same), in arrival order."""
        if not self._log_a:
            e = np.empty(0, np.int64)
            return e, e, np.empty(0, bool)
        if len(self._log_a) > 1:  # joined once: a run reads the log at every checkpoint
            self._log_a = [np.concatenate(self._log_a)]
            self._log_b = [np.concatenate(self._log_b)]
            self._log_same = [np.concatenate(self._log_same)]
        return tuple(_frozen(log[0]) for log in (self._log_a, self._log_b, self._log_same))

    def _overruled(self, a, b, same) -> np.ndarray:
        relation = self.relation(a, b)
        return np.where(same, relation != 1, relation != -1)

    @property
    def n_conflicts(self) -> int:
        """Raw answers the graph does not follow: overruled by the rule, or tied."""
        if self._conflicts is None:
            self._conflicts = int(self._overruled(*self.answers()).sum())
        return self._conflicts

    def stats(self) -> GraphStats:
        sample_roots = self.roots(np.arange(self.n))
        return GraphStats(
            n_components=len(np.unique(sample_roots)),
            n_known_class=int((self.known_labels() >= 0).sum()),
            n_negatives=len(self._neg_keys),
            n_conflicts=self.n_conflicts,
            n_answers=self._n_answers,
        )

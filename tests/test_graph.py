"""SimilarityGraph: transitivity, negatives on whole components, class nodes, conflict rules,
and "no revealed relation contradicts the truth" under exact answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from palbench.graph import SimilarityGraph


def test_yes_is_transitive_and_no_holds_for_whole_components():
    g = SimilarityGraph(6, 2)
    g.add_pairs([0, 1, 3], [1, 2, 4], [True, True, True])
    g.add_pairs([2], [4], [False])
    assert g.relation([0], [2])[0] == 1
    assert list(g.relation([0, 1, 2], [3, 4, 3])) == [-1, -1, -1]
    assert g.relation([0], [5])[0] == 0
    assert g.stats().n_components == 3


def test_labels_link_to_class_nodes_which_are_mutual_negatives():
    g = SimilarityGraph(5, 3)
    g.add_labels([0, 1], [2, 0])
    g.add_pairs([0], [3], [True])
    assert list(g.known_labels()) == [2, 0, -1, 2, -1]
    assert g.relation([3], [1])[0] == -1  # via classes 2 and 0
    g.add_pairs([4, 4], [5 + 0, 5 + 1], [False, False])  # "4 is not class 0, nor 1"
    assert g.known_labels()[4] == 2  # ruled out of all classes but one: deduced


def test_signed_block_matches_relations():
    g = SimilarityGraph(5, 2)
    g.add_pairs([0, 2], [1, 3], [True, False])
    block = g.signed_block([0, 1, 2, 3, 4])
    expected = np.eye(5)
    expected[0, 1] = expected[1, 0] = 1
    expected[2, 3] = expected[3, 2] = -1
    np.testing.assert_array_equal(block, expected)
    assert (g.signed_block([2, 3], signed=False) == np.eye(2)).all()


@pytest.mark.parametrize("seed", range(5))
def test_exact_answers_never_contradict_the_truth_and_reveal_every_implied_link(seed):
    rng = np.random.default_rng(seed)
    n, c = 60, 4
    y = rng.integers(0, c, n)
    g = SimilarityGraph(n, c)
    yes_a, yes_b = [], []
    for _ in range(8):
        a = rng.integers(0, n, 12)
        b = (a + rng.integers(1, n, 12)) % n
        g.add_pairs(a, b, y[a] == y[b])
        yes_a += list(a[y[a] == y[b]])
        yes_b += list(b[y[a] == y[b]])
        labelled = rng.choice(n, 2, replace=False)
        g.add_labels(labelled, y[labelled])
        yes_a += list(labelled)
        yes_b += list(n + y[labelled])
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    relation = g.relation(i.ravel(), j.ravel()).reshape(n, n)
    truth = np.where(y[:, None] == y[None, :], 1, -1)
    assert ((relation != 0) & (relation != truth)).sum() == 0
    # every pair linked by a path of yes answers is revealed as same class
    graph = coo_matrix((np.ones(len(yes_a)), (yes_a, yes_b)), shape=(n + c, n + c))
    _, comp = connected_components(graph, directed=False)
    linked = comp[:n, None] == comp[None, :n]
    assert (relation[linked] == 1).all()
    known = g.known_labels()
    assert (known[known >= 0] == y[known >= 0]).all()
    assert g.stats().n_conflicts == 0


def test_majority_rule_follows_the_majority_of_a_pairs_answers():
    g = SimilarityGraph(4, 2, rule="majority")
    g.add_pairs([0], [1], [False])
    assert g.relation([0], [1])[0] == -1
    g.add_pairs([0], [1], [True])  # a tie: no verdict
    assert g.relation([0], [1])[0] == 0
    g.add_pairs([1], [0], [True])
    assert g.relation([0], [1])[0] == 1
    assert g.stats().n_conflicts == 1  # the first "no" is overruled


def test_first_rule_keeps_the_first_answer():
    g = SimilarityGraph(4, 2, rule="first")
    g.add_pairs([0, 0, 0], [1, 1, 1], [False, True, True])
    assert g.relation([0], [1])[0] == -1
    assert g.stats().n_conflicts == 2


def test_drop_rule_forgets_pairs_whose_answers_disagree():
    g = SimilarityGraph(4, 2, rule="drop")
    g.add_pairs([0, 2], [1, 3], [True, True])
    g.add_pairs([0], [1], [False])
    assert g.relation([0], [1])[0] == 0 and g.relation([2], [3])[0] == 1


def test_transitive_conflict_keeps_the_earlier_structure_and_is_counted():
    g = SimilarityGraph(3, 2)
    g.add_pairs([0, 1], [1, 2], [True, True])
    conflicts = g.add_pairs([0], [2], [False])  # contradicts 0 ~ 1 ~ 2
    assert conflicts == 1 and g.relation([0], [2])[0] == 1
    # within one batch too: the later answer loses
    h = SimilarityGraph(3, 2)
    assert h.add_pairs([0, 1, 0], [1, 2, 2], [True, True, False]) == 1
    assert h.relation([0], [2])[0] == 1 and h.stats().n_conflicts == 1


def test_graph_is_a_function_of_its_answer_log():
    rng = np.random.default_rng(0)
    n = 40
    a, b = rng.integers(0, n, 200), rng.integers(0, n, 200)
    keep = a != b
    a, b, same = a[keep], b[keep], rng.random(keep.sum()) < 0.3
    one = SimilarityGraph(n, 3)
    for start in range(0, len(a), 7):
        one.add_pairs(a[start:start + 7], b[start:start + 7], same[start:start + 7])
    other = SimilarityGraph(n, 3)
    other.add_pairs(a, b, same)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    np.testing.assert_array_equal(one.relation(i.ravel(), j.ravel()),
                                  other.relation(i.ravel(), j.ravel()))
    assert one.stats() == other.stats()


def test_bad_answers_are_refused():
    g = SimilarityGraph(4, 2)
    with pytest.raises(ValueError, match="two different nodes"):
        g.add_pairs([1], [1], [True])
    with pytest.raises(ValueError, match="node ids"):
        g.add_pairs([0], [9], [True])
    with pytest.raises(ValueError, match="labels must lie"):
        g.add_labels([0], [2])
    with pytest.raises(ValueError, match="rule"):
        SimilarityGraph(4, 2, rule="vote")


def test_raw_answers_hold_only_what_was_answered():
    """closure = "none": a yes links its two samples and no third, a label names its own
    sample only; the transitive graph knows more from the same answers."""
    from palbench.graph_readers import RawAnswers

    g = SimilarityGraph(5, 2)
    g.add_labels(np.array([0]), np.array([1]))
    g.add_pairs(np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([True, True, False]))
    raw = RawAnswers(g)
    np.testing.assert_array_equal(g.known_labels(), [1, 1, 1, -1, -1])
    np.testing.assert_array_equal(raw.known_labels(), [1, -1, -1, -1, -1])
    block = raw.signed_block(np.array([0, 2, 1, 3, 4]))
    assert block[0, 2] == block[2, 0] == 1 and block[2, 1] == 1  # answered yes: 0~1, 1~2
    assert block[0, 1] == 0  # 0 and 2 were never asked: unknown, not closed
    assert block[3, 4] == -1 and raw.signed_block(np.array([3, 4]), signed=False)[0, 1] == 0
    assert g.signed_block(np.array([0, 2]))[0, 1] == 1  # the closure knows it
    np.testing.assert_array_equal(np.diag(block), 1)
    ids = raw.component_ids()
    assert ids[0] == ids[1] == ids[2] and ids[3] != ids[4]


def test_first_labels_take_a_shortcut_to_the_same_forest():
    """Yes-answers on samples no answer named before skip the general merge; the forest,
    the negatives and every query give what the general path gives (same roots too)."""
    rng = np.random.default_rng(5)
    for _trial in range(30):
        n, c = 40, 4
        fast, slow = SimilarityGraph(n, c), SimilarityGraph(n, c)
        slow._touched[:] = True  # every answer takes the general path
        for _ in range(12):
            if rng.random() < 0.6:
                idx = rng.choice(n, size=rng.integers(1, 4), replace=False)
                labels = rng.integers(0, c, len(idx))
                got = [g.add_labels(idx, labels) for g in (fast, slow)]
            else:
                a, b = rng.choice(n, size=2, replace=False)
                same = bool(rng.random() < 0.5)
                got = [g.add_pairs([a], [b], [same]) for g in (fast, slow)]
            assert got[0] == got[1]
            assert np.array_equal(fast.roots(np.arange(n + c)), slow.roots(np.arange(n + c)))
            assert np.array_equal(fast.known_labels(), slow.known_labels())
            assert np.array_equal(fast._neg_keys, slow._neg_keys)
            assert fast.stats() == slow.stats()


def test_both_readers_implement_every_query_of_the_protocol():
    """GraphView and RawAnswers each define every method GraphReader declares, with its
    signature, and its attributes: a query added to one reader (or the Protocol) alone fails."""
    import inspect

    from palbench.graph_readers import GraphReader, GraphView, RawAnswers

    declared = {name: inspect.signature(member) for name, member in vars(GraphReader).items()
                if inspect.isfunction(member) and not name.startswith("_")}
    assert {"known_labels", "signed_block", "component_ids", "excluded_classes"} <= set(declared)
    g = SimilarityGraph(4, 2)
    for reader in (GraphView, RawAnswers):
        for name, signature in declared.items():
            assert inspect.signature(getattr(reader, name)) == signature, \
                f"{reader.__name__}.{name}"
        public = {name for name, member in vars(reader).items()
                  if inspect.isfunction(member) and not name.startswith("_")}
        assert public == set(declared), f"{reader.__name__}: {public ^ set(declared)}"
        instance = reader(g)
        assert (instance.n, instance.c) == (4, 2)
        assert set(GraphReader.__annotations__) == {"n", "c"}


def test_raw_answers_answer_every_query_from_the_answers_alone():
    """closure = "none" for the other queries: a label excludes the other classes, a pair's
    relation is its own verdict (never a chain), the answers are the graph's; with no answer
    the raw counts are the graph's."""
    from palbench.graph_readers import RawAnswers

    g = SimilarityGraph(5, 3)
    raw = RawAnswers(g)
    assert raw.stats() == g.stats()
    g.add_labels(np.array([0]), np.array([1]))
    g.add_pairs(np.array([0, 1, 3, 3, 3]), np.array([1, 2, 4, 4, 4]),
                np.array([True, True, False, True, False]))
    excluded = raw.excluded_classes(np.array([0, 1, 4]))
    np.testing.assert_array_equal(excluded, [[True, False, True], [False] * 3, [False] * 3])
    assert g.excluded_classes(np.array([1]))[0].tolist() == [True, False, True]  # the closure
    np.testing.assert_array_equal(raw.relation([0, 1, 0, 3, 2], [1, 2, 2, 4, 2]),
                                  [1, 1, 0, -1, 1])
    assert g.relation([0], [2])[0] == 1
    for mine, graphs in zip(raw.answers(), g.answers()):
        np.testing.assert_array_equal(mine, graphs)
    stats = raw.stats()
    assert (stats.n_known_class, stats.n_answers, stats.n_conflicts) == (1, 6, 1)
    assert stats.n_components == 3 and stats.n_negatives == 1 + 3

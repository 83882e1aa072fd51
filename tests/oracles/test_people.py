"""Annotators as people are: each oracle's empirical rates match its parameters within
sampling error (4 binomial standard deviations), and bad parameters are one line."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from palbench.errors import ConfigError
from palbench.oracles import ORACLES, Truth
from palbench.oracles.costs import price_list_for
from palbench.oracles.people import cifar10h_matrix
from palbench.params import build
from palbench.queries import AnnotatorHistory, LabelQueries, PairQueries

FRESH = AnnotatorHistory()  # an annotator with no answers yet

N = 40_000


def truth(n_classes: int = 4) -> Truth:
    y = np.arange(N) % n_classes
    return Truth(y, n_classes, price_list_for(n_classes), labelling_seed=0)


def oracle(name, **params):
    return build(ORACLES.get(name), params, "oracle")


def within(observed: float, p: float, n: int) -> bool:
    return abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12


def random_pairs(n_classes: int = 4, seed: int = 0) -> PairQueries:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, N, N)
    return PairQueries(a, (a + rng.integers(1, N, N)) % N)


def rates(said: np.ndarray, same: np.ndarray) -> tuple[float, float, int, int]:
    return said[same].mean(), 1 - said[~same].mean(), int(same.sum()), int((~same).sum())


def test_asymmetric_pair_rates_match_their_parameters():
    t, pairs = truth(), random_pairs()
    said = oracle("asymmetric_pair", p_yes_same=0.55, p_no_different=0.85).answer(
        pairs, t, FRESH, np.random.default_rng(1)).values
    same = t.y[pairs.a] == t.y[pairs.b]
    yes_same, no_diff, n_same, n_diff = rates(said, same)
    assert within(yes_same, 0.55, n_same) and within(no_diff, 0.85, n_diff)


def test_noisy_pair_is_the_symmetric_special_case():
    t, pairs = truth(), random_pairs()
    a = oracle("asymmetric_pair", p_yes_same=0.8, p_no_different=0.8).answer(
        pairs, t, FRESH, np.random.default_rng(2)).values
    b = oracle("noisy_pair", noise=0.2).answer(pairs, t, FRESH, np.random.default_rng(2)).values
    same = t.y[pairs.a] == t.y[pairs.b]
    for said in (a, b):
        assert within((said != same).mean(), 0.2, N)


def test_rates_follow_the_images_a_question_shows():
    """Group questions of 8 images answer at the table's 8-image rates, plain pairs at 2."""
    t = truth(2)
    rng = np.random.default_rng(3)
    members = rng.permutation(N)[: (N // 8) * 8].reshape(-1, 8)
    i, j = np.triu_indices(8, 1)
    group = PairQueries(members[:, i].ravel(), members[:, j].ravel(),
                        group=np.repeat(np.arange(len(members)), len(i)))
    assert (group.images_per_pair() == 8).all()
    fine = oracle("fine_grained_pairs")
    said = fine.answer(group, t, FRESH, np.random.default_rng(4)).values
    same = t.y[group.a] == t.y[group.b]
    yes_same, no_diff, n_same, n_diff = rates(said, same)
    assert within(yes_same, 0.6305, n_same) and within(no_diff, 0.8415, n_diff)
    plain = random_pairs(2)
    said = fine.answer(plain, t, FRESH, np.random.default_rng(5)).values
    same = t.y[plain.a] == t.y[plain.b]
    yes_same, no_diff, n_same, n_diff = rates(said, same)
    assert within(yes_same, 0.512, n_same) and within(no_diff, 0.8875, n_diff)
    table = oracle("asymmetric_pair", p_yes_same={"2": 0.5, "8": 0.8}, p_no_different=1.0)
    shown_4 = PairQueries(np.array([0, 0, 0, 1, 1, 2]), np.array([1, 2, 3, 2, 3, 3]),
                          group=np.zeros(6, np.int64))
    assert (shown_4.images_per_pair() == 4).all()
    from palbench.oracles.people import rate_at
    assert rate_at(table.p_yes_same, np.array([2, 4, 8, 12])).tolist() == [0.5, 0.6, 0.8, 0.8]


def test_confusion_pair_answers_as_two_labels_that_agree():
    matrix = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.0, 0.3, 0.7]]
    t, pairs = truth(3), random_pairs(3)
    said = oracle("confusion_pair", matrix=matrix).answer(
        pairs, t, FRESH, np.random.default_rng(6)).values
    m = np.array(matrix)
    for ca in range(3):
        for cb in range(3):
            rows = (t.y[pairs.a] == ca) & (t.y[pairs.b] == cb)
            assert within(said[rows].mean(), float(m[ca] @ m[cb]), int(rows.sum()))
    labels = oracle("confusion_pair", matrix=matrix).answer(
        LabelQueries(np.arange(N)), t, FRESH, np.random.default_rng(7)).values
    assert within((labels[t.y == 2] == 1).mean(), 0.3, int((t.y == 2).sum()))


def test_cifar10h_preset_keeps_the_source_figures():
    m = np.array(cifar10h_matrix())
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    assert m[4, 4] == 0.917 and m[1, 1] == 0.975 and m[3, 5] == 0.040 and m[9, 1] == 0.024
    # docs/studies/annotators.md: two agreeing independent labels give P(yes | same) about 0.91
    assert abs(np.mean((m * m).sum(axis=1)) - 0.91) < 0.01
    t = truth(10)
    said = oracle("cifar10h_labels").answer(LabelQueries(np.arange(N)), t, FRESH,
                                            np.random.default_rng(8)).values
    cats = t.y == 3
    assert within((said[cats] == 5).mean(), 0.040, int(cats.sum()))


@pytest.mark.parametrize("params,field", [
    ({"p_yes_same": 1.5}, "oracle.p_yes_same"),
    ({"p_no_different": -0.1}, "oracle.p_no_different"),
    ({"p_yes_same": {"1": 0.5}}, "oracle.p_yes_same.1"),
    ({"p_yes_same": {"4": 2.0}}, "oracle.p_yes_same.4"),
    ({"p_yes_same": {}}, "oracle.p_yes_same"),
])
def test_bad_rates_name_the_field(params, field):
    with pytest.raises(ConfigError) as error:
        oracle("asymmetric_pair", **params)
    assert error.value.field == field


def test_cifar10h_needs_ten_classes():
    with pytest.raises(ConfigError, match="10 rows"):
        oracle("cifar10h_labels").validate_data(SimpleNamespace(n_classes=3), "oracle")

"""Every registered oracle passes one suite, for every query kind it answers: one answer per
query, costs charged per the price list, the same answers for the same rng, values in range."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.oracles import ABSTAIN, ORACLES, Truth
from palbench.oracles.costs import price_list_for
from palbench.oracles.practice import speed
from palbench.params import build
from palbench.queries import AnnotatorHistory, LabelQueries, PairQueries

FRESH = AnnotatorHistory()  # an annotator with no answers yet

# The parameters the tests below give the oracles they name (every registered oracle is also
# run on each example it declares, tests/contracts/test_every_component.py too).
PARAMS = {
    "exact": {},
    "noisy_label": {"noise": 0.3},
    "confusion": {"matrix": [[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]},
    "abstain": {"rate": 0.25, "base": {"name": "noisy_label", "noise": 0.2}},
    "exact_pair": {},
    "noisy_pair": {"noise": 0.2},
    "corrupted_labels": {"n_corrupted": 300},
    "asymmetric_pair": {"p_yes_same": 0.6, "p_no_different": {"2": 0.9, "8": 0.8}},
    "fine_grained_pairs": {},
    "confusion_pair": {"matrix": [[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]},
    "cifar10h_labels": {},
    "practice": {"preset": "cifar10n", "drift": 0.1, "base": {"name": "noisy_label"}},
    "workers": {"base": {"name": "noisy_label"}, "n_workers": 4,
                "spread": {"noise": [0.0, 0.4]}},
}
ABSTAIN_PAIR = {"rate": 0.25, "base": {"name": "noisy_pair", "noise": 0.2}}


@pytest.fixture
def truth():
    y = np.arange(3000) % 3
    prices = price_list_for(3, [1.0, 2.0, 0.5], pair=0.3, captcha_item=0.2)
    return Truth(y=y, n_classes=3, prices=prices, labelling_seed=7)


def truth_for(name: str, truth: Truth) -> Truth:
    """A preset of a 10-class pattern (`preset_classes`) is answered on a 10-class truth."""
    if ORACLES.get(name).preset_classes is None:
        return truth
    prices = price_list_for(10, np.linspace(0.5, 2.0, 10), pair=0.3, captcha_item=0.2)
    return Truth(y=np.arange(3000) % 10, n_classes=10, prices=prices, labelling_seed=7)


def oracle(name, params=None):
    return build(ORACLES.get(name), PARAMS[name] if params is None else params, "oracle")


def queries_of(kind, n=3000, step=7, seed=0):
    if kind == "label":
        return LabelQueries(np.arange(0, n, step))
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, n // step)
    return PairQueries(a, (a + rng.integers(1, n, len(a))) % n)


# every registered oracle on each example it declares, then the named ones on PARAMS
CASES = [(name, kind, params) for name in ORACLES.names()
         for params in ORACLES.get(name).examples
         for kind in oracle(name, params).query_kinds] + \
    [(name, kind, params) for name, params in PARAMS.items()
     for kind in oracle(name, params).query_kinds] + [("abstain", "pair", ABSTAIN_PAIR)]


@pytest.mark.parametrize("name,kind,params", CASES)
def test_answers_each_query_and_charges_its_cost(name, kind, params, truth):
    truth = truth_for(name, truth)
    queries = queries_of(kind)
    answers = oracle(name, params).answer(queries, truth, FRESH, np.random.default_rng(0))
    assert answers.queries is queries and len(answers.values) == len(queries)
    expected = truth.prices.label[truth.y[queries.indices]] if kind == "label" else \
        np.full(len(queries), 0.3)
    if name == "practice":  # the listed price times its speed-up (tests/oracles/test_practice.py)
        expected = expected * speed(np.arange(len(queries)), *oracle(name, params).curve)
    np.testing.assert_allclose(answers.cost, expected)
    top = truth.n_classes if kind == "label" else 2
    valid = (answers.values == ABSTAIN) | ((answers.values >= 0) & (answers.values < top))
    assert valid.all()


@pytest.mark.parametrize("name,kind,params", CASES)
def test_same_rng_gives_same_answers(name, kind, params, truth):
    truth = truth_for(name, truth)
    queries = queries_of(kind)
    a = oracle(name, params).answer(queries, truth, FRESH, np.random.default_rng(11)).values
    b = oracle(name, params).answer(queries, truth, FRESH, np.random.default_rng(11)).values
    np.testing.assert_array_equal(a, b)


def test_exact_is_always_right(truth):
    answers = oracle("exact").answer(LabelQueries(np.arange(3000)), truth, FRESH,
                                     np.random.default_rng(0))
    np.testing.assert_array_equal(answers.values, truth.y)
    pairs = queries_of("pair")
    said = oracle("exact_pair").answer(pairs, truth, FRESH, np.random.default_rng(0)).values
    np.testing.assert_array_equal(said, truth.y[pairs.a] == truth.y[pairs.b])


def test_noisy_label_flips_at_its_rate_to_other_classes(truth):
    answers = oracle("noisy_label").answer(LabelQueries(np.arange(3000)), truth, FRESH,
                                           np.random.default_rng(0))
    wrong = answers.values != truth.y
    # 0.3 * 3000 = 900 expected flips; 4 binomial standard deviations is about 100
    assert abs(wrong.sum() - 900) < 100
    assert set(np.unique(answers.values)) == {0, 1, 2}


def test_noisy_pair_flips_at_its_rate(truth):
    pairs = queries_of("pair", step=1)
    said = oracle("noisy_pair").answer(pairs, truth, FRESH, np.random.default_rng(0)).values
    wrong = said != (truth.y[pairs.a] == truth.y[pairs.b])
    assert abs(wrong.mean() - 0.2) < 0.03


def test_confusion_follows_its_matrix(truth):
    said = oracle("confusion").answer(LabelQueries(np.arange(3000)), truth, FRESH,
                                      np.random.default_rng(0)).values
    assert (said[truth.y == 1] == 1).all()  # row [0, 1, 0]
    assert abs((said[truth.y == 0] == 0).mean() - 0.8) < 0.06
    assert abs((said[truth.y == 2] == 2).mean() - 0.6) < 0.07


def test_abstentions_are_charged_and_carry_no_answer(truth):
    answers = oracle("abstain").answer(LabelQueries(np.arange(3000)), truth, FRESH,
                                       np.random.default_rng(0))
    abstained = answers.values == ABSTAIN
    assert abs(abstained.mean() - 0.25) < 0.04
    assert (answers.cost[abstained] > 0).all()


def test_corrupted_labels_are_wrong_but_transitive(truth):
    corrupted = oracle("corrupted_labels")
    labels = corrupted.answer(LabelQueries(np.arange(3000)), truth, FRESH,
                              np.random.default_rng(0)).values
    assert (labels != truth.y).sum() == 300
    pairs = queries_of("pair", step=1)
    said = corrupted.answer(pairs, truth, FRESH, np.random.default_rng(5)).values
    np.testing.assert_array_equal(said, labels[pairs.a] == labels[pairs.b])  # one labelling


def test_captcha_is_priced_as_one_query(truth):
    captcha = PairQueries(np.array([5, 6, 7, 8, 9]), np.zeros(5, np.int64),
                          group=np.array([0, 0, 0, 1, 1]))
    answers = oracle("exact_pair").answer(captcha, truth, FRESH, np.random.default_rng(0))
    assert captcha.n_queries == 2
    assert answers.total_cost == pytest.approx((1.0 + 3 * 0.2) + (1.0 + 2 * 0.2))

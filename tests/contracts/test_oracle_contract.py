"""Every registered oracle passes one suite: one answer per query, costs charged per the price
list, the same answers for the same rng, labels in range or an abstention."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.oracles import ABSTAIN, ORACLES, Truth
from palbench.params import build

# Example parameters for each oracle: a new oracle must add itself here (the test below checks).
EXAMPLES = {
    "exact": {},
    "noisy_label": {"noise": 0.3},
    "confusion": {"matrix": [[0.8, 0.1, 0.1], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]},
    "abstain": {"rate": 0.25, "base": {"name": "noisy_label", "noise": 0.2}},
}


@pytest.fixture
def truth():
    y = np.arange(3000) % 3
    return Truth(y=y, n_classes=3, label_cost=np.array([1.0, 2.0, 0.5]))


def oracle(name):
    return build(ORACLES.get(name), EXAMPLES[name], "oracle")


def test_every_registered_oracle_has_an_example():
    assert sorted(EXAMPLES) == ORACLES.names()


@pytest.mark.parametrize("name", ORACLES.names())
def test_answers_each_query_and_charges_its_cost(name, truth):
    indices = np.arange(0, 3000, 7)
    answers = oracle(name).answer(indices, truth, np.random.default_rng(0))
    np.testing.assert_array_equal(answers.indices, indices)
    assert len(answers.labels) == len(indices)
    np.testing.assert_allclose(answers.cost, truth.label_cost[truth.y[indices]])
    assert answers.total_cost == pytest.approx(truth.label_cost[truth.y[indices]].sum())
    valid = (answers.labels == ABSTAIN) | ((answers.labels >= 0) & (answers.labels < 3))
    assert valid.all()


@pytest.mark.parametrize("name", ORACLES.names())
def test_same_rng_gives_same_answers(name, truth):
    indices = np.arange(500)
    a = oracle(name).answer(indices, truth, np.random.default_rng(11)).labels
    b = oracle(name).answer(indices, truth, np.random.default_rng(11)).labels
    np.testing.assert_array_equal(a, b)


def test_exact_is_always_right(truth):
    answers = oracle("exact").answer(np.arange(3000), truth, np.random.default_rng(0))
    np.testing.assert_array_equal(answers.labels, truth.y)


def test_noisy_label_flips_at_its_rate_to_other_classes(truth):
    answers = oracle("noisy_label").answer(np.arange(3000), truth, np.random.default_rng(0))
    wrong = answers.labels != truth.y
    # 0.3 * 3000 = 900 expected flips; 4 binomial standard deviations is about 100
    assert abs(wrong.sum() - 900) < 100
    assert set(np.unique(answers.labels)) == {0, 1, 2}


def test_confusion_follows_its_matrix(truth):
    answers = oracle("confusion").answer(np.arange(3000), truth, np.random.default_rng(0))
    said = answers.labels
    assert (said[truth.y == 1] == 1).all()  # row [0, 1, 0]
    assert abs((said[truth.y == 0] == 0).mean() - 0.8) < 0.06
    assert abs((said[truth.y == 2] == 2).mean() - 0.6) < 0.07


def test_abstentions_are_charged_and_carry_no_label(truth):
    answers = oracle("abstain").answer(np.arange(3000), truth, np.random.default_rng(0))
    abstained = answers.labels == ABSTAIN
    assert abs(abstained.mean() - 0.25) < 0.04
    assert (answers.cost[abstained] > 0).all()

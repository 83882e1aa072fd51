"""A pool of workers who differ: each worker's empirical rates match the parameters drawn for
it, redundancy charges every worker asked and aggregates (majority; Dawid-Skene through
crowd-kit), the answer log keeps who said what, and bad pools are one line."""

from __future__ import annotations

import numpy as np
import pytest

from palbench.cli import main
from palbench.errors import ConfigError
from palbench.oracles import ORACLES, Truth
from palbench.oracles.costs import price_list_for
from palbench.params import build
from palbench.queries import AnnotatorHistory, LabelQueries, PairQueries
from palbench.results.store import ResultsStore

FRESH = AnnotatorHistory()  # an annotator with no answers yet

N = 30_000


def truth(n_classes: int = 2) -> Truth:
    return Truth(np.arange(N) % n_classes, n_classes, price_list_for(n_classes, pair=1.5),
                 labelling_seed=3)


def pool(**params):
    return build(ORACLES.get("workers"), params, "oracle")


def pairs(seed: int = 0) -> PairQueries:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, N, N)
    return PairQueries(a, (a + rng.integers(1, N, N)) % N)


def within(observed: float, p: float, n: int) -> bool:
    return abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_each_worker_answers_at_the_rates_drawn_for_it():
    oracle = pool(base={"name": "asymmetric_pair"}, n_workers=5,
                  spread={"p_yes_same": [0.4, 0.7], "p_no_different": [0.7, 0.9]})
    t, q = truth(), pairs()
    answers = oracle.answer(q, t, FRESH, np.random.default_rng(1))
    members, _ = oracle.pool(t)
    same = t.y[q.a] == t.y[q.b]
    rates = [(m.p_yes_same, m.p_no_different) for m in members]
    assert len({r for r in rates}) == 5 and all(0.4 <= y <= 0.7 for y, _ in rates)
    for w, (yes_same, no_diff) in enumerate(rates):
        mine = answers.workers[:, 0] == w
        assert within(answers.heard[mine & same, 0].mean(), yes_same, int((mine & same).sum()))
        assert within(1 - answers.heard[mine & ~same, 0].mean(), no_diff,
                      int((mine & ~same).sum()))
    again, _ = oracle.pool(t)  # drawn once per run: the same workers at every batch
    assert [m.p_yes_same for m in again] == [y for y, _ in rates]


def test_redundancy_charges_every_worker_and_majority_beats_one():
    oracle = pool(base={"name": "noisy_pair", "noise": 0.2}, n_workers=6, redundancy=3,
                  price=[1.0, 1.0, 2.0, 2.0, 3.0, 3.0])
    t, q = truth(), pairs(1)
    answers = oracle.answer(q, t, FRESH, np.random.default_rng(2))
    assert all(len(set(row)) == 3 for row in answers.workers[:100].tolist())
    expected = 1.5 * np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0])[answers.workers].sum(axis=1)
    np.testing.assert_allclose(answers.cost, expected)
    right = answers.values == (t.y[q.a] == t.y[q.b])
    assert within(right.mean(), 0.8 ** 3 + 3 * 0.8 ** 2 * 0.2, N)  # majority of 3 at 0.8


def test_round_robin_takes_workers_in_turn():
    oracle = pool(base={"name": "exact"}, n_workers=4, assign="round_robin", redundancy=2)
    answers = oracle.answer(LabelQueries(np.arange(6)), truth(), FRESH, np.random.default_rng(0))
    flat = answers.workers.ravel()
    assert ((flat[1:] - flat[:-1]) % 4 == 1).all()
    np.testing.assert_array_equal(answers.values, truth().y[:6])


def test_dawid_skene_trusts_the_good_workers():
    pytest.importorskip("crowdkit")
    good, bad = {"noise": 0.05}, {"noise": 0.45}
    common = dict(base={"name": "noisy_label"}, workers=[good, good, bad, bad, bad],
                  redundancy=5)
    t = truth(3)
    q = LabelQueries(np.arange(3000))
    majority = pool(**common).answer(q, t, FRESH, np.random.default_rng(4)).values
    skene = pool(**common, aggregate="dawid_skene").answer(q, t, FRESH, np.random.default_rng(4))
    assert (skene.values == t.y[:3000]).mean() > (majority == t.y[:3000]).mean() + 0.05


def test_group_questions_go_to_one_worker_whole():
    oracle = pool(base={"name": "fine_grained_pairs"}, n_workers=7)
    i, j = np.triu_indices(4, 1)
    q = PairQueries(np.concatenate([i, i + 4]), np.concatenate([j, j + 4]),
                    np.repeat([0, 1], 6), question="group")
    answers = oracle.answer(q, truth(), FRESH, np.random.default_rng(5))
    assert len(set(answers.workers[:6, 0])) == 1 and len(set(answers.workers[6:, 0])) == 1


def test_the_answer_log_keeps_who_said_what(write_config, tmp_path):
    config = write_config("""
[experiment]
seeds = [0]
budgets = [12, 24]
batch_size = 2
probe = false
[dataset]
name = "blobs"
n_samples = 90
[strategy]
name = "random"
[oracle]
name = "workers"
base = { name = "noisy_label", noise = 0.3 }
n_workers = 5
redundancy = 3
[learner]
name = "sklearn"
""")
    store = tmp_path / "s.sqlite"
    assert main(["run", str(config), "--store", str(store), "--quiet"]) == 0
    with ResultsStore(store) as s:
        log = s.answers()
        frame = s.to_frame()
    assert len(log) == 3 * frame.n_queries.max() == 3 * 8  # 24 units at 3 a label
    assert log.worker.notna().all() and set(log.kind) == {"label"}
    assert (log.groupby("position").worker.nunique() == 3).all()


@pytest.mark.parametrize("params,field,why", [
    ({"workers": []}, "oracle.workers", "non-empty list"),
    ({"redundancy": 0}, "oracle.redundancy", "must be >= 1"),
    ({"n_workers": 3, "redundancy": 4}, "oracle.redundancy", "between 1 and the pool's 3"),
    ({"n_workers": 0}, "oracle.n_workers", ">= 1"),
    ({"spread": {"noise": [0.5, 0.1]}}, "oracle.spread.noise", "low <= high"),
    ({"spread": {"noise": [0.5, 1.5]}}, "oracle.spread.noise", "within [0, 1]"),
    ({"price": [1.0, 2.0]}, "oracle.price", "one per worker"),
    ({"aggregate": "vote"}, "oracle.aggregate", 'must be one of "majority", "dawid_skene"'),
    ({"assign": "best"}, "oracle.assign", 'one of "random", "round_robin", "strategy"'),
])
def test_bad_pools_name_the_field(params, field, why):
    with pytest.raises(ConfigError) as error:
        pool(**{"base": {"name": "noisy_label"}, **params})
    assert error.value.field == field and why in str(error.value), str(error.value)


def test_a_routed_strategy_learns_whom_to_ask(blobs):
    """Thompson routing on agreement with the verdicts: the two careful workers of six end up
    answering most questions (a third of them at random)."""
    from palbench.bench.grid import cell_for
    from palbench.bench.loop import CellState
    from palbench.learners.sklearn_adapter import Sklearn
    from palbench.strategies import STRATEGIES

    careful, careless = {"noise": 0.02}, {"noise": 0.7}
    oracle = pool(base={"name": "noisy_label"}, workers=[careful, careful] + [careless] * 4,
                  redundancy=3, assign="strategy")
    strategy = build(STRATEGIES.get("routed"), {"inner": {"name": "random"}}, "strategy")
    cell = cell_for(blobs, strategy=strategy, oracle=oracle, learner=Sklearn(), label="routed")
    state = CellState(cell, blobs).start()
    for _ in range(40):
        state.ask(5)
    log = np.array([row[4] for row in state.ledger.log])
    late = log[len(log) // 2:]
    assert np.isin(late, [0, 1]).mean() > 0.5  # 1/3 at random


@pytest.mark.parametrize("strategy,oracle,field", [
    ('name = "random"', 'assign = "strategy"', "oracle.assign"),
    ('name = "routed"', 'assign = "random"', "oracle.name"),
])
def test_routing_needs_both_sides(strategy, oracle, field, write_config, tmp_path, capsys):
    config = write_config(f"""
[experiment]
seeds = [0]
budgets = [10]
batch_size = 5
[dataset]
name = "blobs"
[strategy]
{strategy}
[oracle]
name = "workers"
base = {{ name = "exact" }}
redundancy = 2
{oracle}
""")
    assert main(["run", str(config), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"palbench: error: {field}") and len(err.splitlines()) == 1, err
